; Drop sinks for the receiving namespace, for machines without clang (llc is enough):
;   llc -march=bpfel -filetype=obj sink.ll -o progs.o
; Section "tcdrop": tc clsact ingress, direct action, returns TC_ACT_SHOT (2).
; Section "xdpdrop": XDP program, returns XDP_DROP (1).
; Same section names as the shared harness's bpf/progs.c, so its run_pps.sh loads them.
target triple = "bpfel"

@_license = global [4 x i8] c"GPL\00", section "license", align 1

define i32 @tc_drop(i8* %ctx) section "tcdrop" {
  ret i32 2
}

define i32 @xdp_drop(i8* %ctx) section "xdpdrop" {
  ret i32 1
}

@llvm.used = appending global [3 x i8*] [i8* getelementptr ([4 x i8], [4 x i8]* @_license, i32 0, i32 0), i8* bitcast (i32 (i8*)* @tc_drop to i8*), i8* bitcast (i32 (i8*)* @xdp_drop to i8*)], section "llvm.metadata"
