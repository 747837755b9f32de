//! No controller input makes the bridge panic: random flow_mods, group_mods
//! and packet-outs with arbitrary actions, instructions, field references
//! and values are applied or refused, and translating random packets
//! through whatever was accepted succeeds.

mod common;

use common::*;
use datapath::flow::FlowKey;
use ofproto::ofp::actions::{Action, FieldRef};
use ofproto::ofp::instructions::Instruction;
use ofproto::ofp::matching::MatchEntry;
use ofproto::ofp::messages::{FlowMod, FlowModCommand, PacketOut};
use ofproto::ofp::oxm::{Field, Value};
use ofproto::ofp::port::ports;
use ofproto::pipeline::group::{Bucket, GroupMod, GroupModCommand, GroupType};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn port(rng: &mut Rng) -> u32 {
    match rng.below(6) {
        0 => rng.next() as u32,
        1 => ports::TABLE,
        2 => [
            ports::IN_PORT,
            ports::NORMAL,
            ports::FLOOD,
            ports::ALL,
            ports::CONTROLLER,
            ports::LOCAL,
            ports::ANY,
        ][rng.below(7) as usize],
        _ => rng.below(6) as u32,
    }
}

fn field(rng: &mut Rng) -> Field {
    let all = Field::all();
    all[rng.below(all.len() as u64) as usize]
}

fn field_ref(rng: &mut Rng) -> FieldRef {
    let f = field(rng);
    let header = match f.info().nxm {
        Some(id) if rng.below(4) != 0 => ofproto::ofp::oxm::nxm_header(id, false, f.info().width),
        _ => rng.next() as u32,
    };
    FieldRef {
        header,
        ofs: rng.below(140) as u16,
        n_bits: rng.below(140) as u16,
    }
}

fn value(rng: &mut Rng, f: Field) -> Value {
    let w = f.info().width;
    let mut b = [0u8; 16];
    for x in b.iter_mut() {
        *x = rng.next() as u8;
    }
    Value::from_bytes(&b[..usize::from(w.min(16))])
}

fn action(rng: &mut Rng) -> Action {
    match rng.below(30) {
        0 => Action::Output {
            port: port(rng),
            max_len: rng.next() as u16,
        },
        1 => Action::Group(rng.below(5) as u32),
        2 => Action::SetQueue(rng.next() as u32),
        3 => Action::Enqueue {
            port: port(rng),
            queue: rng.next() as u32,
        },
        4 | 5 => {
            let f = field(rng);
            let mask = (rng.below(2) == 0).then(|| value(rng, f));
            Action::SetField(MatchEntry {
                field: f,
                value: value(rng, f),
                mask,
            })
        }
        6 => Action::PushVlan([0x8100, 0x88a8, rng.next() as u16][rng.below(3) as usize]),
        7 => Action::PopVlan,
        8 => Action::PushMpls([0x8847, 0x8848, rng.next() as u16][rng.below(3) as usize]),
        9 => Action::PopMpls(rng.next() as u16),
        10 => Action::SetMplsTtl(rng.next() as u8),
        11 => Action::DecMplsTtl,
        12 => Action::SetNwTtl(rng.next() as u8),
        13 => Action::DecNwTtl,
        14 => Action::CopyTtlOut,
        15 => Action::Meter(rng.below(3) as u32),
        16 => Action::SetVlanVid(rng.next() as u16),
        17 => Action::SetVlanPcp(rng.next() as u8),
        18 => Action::SetTpSrc(rng.next() as u16),
        19 => Action::Resubmit {
            in_port: port(rng),
            table: (rng.below(2) == 0).then(|| rng.next() as u8),
        },
        20 => Action::SetTunnel(rng.next()),
        21 => Action::RegLoad {
            dst: field_ref(rng),
            value: rng.next(),
        },
        22 => Action::RegMove {
            src: field_ref(rng),
            dst: field_ref(rng),
        },
        23 => Action::OutputReg {
            src: field_ref(rng),
            max_len: 0,
        },
        24 => Action::Exit,
        25 => Action::DecTtlIds(vec![rng.next() as u16; rng.below(3) as usize]),
        26 => Action::NxController {
            max_len: rng.next() as u16,
            controller_id: rng.next() as u16,
            reason: rng.next() as u8,
        },
        27 => {
            let mut data: Vec<u8> = (0..rng.below(64)).map(|_| rng.next() as u8).collect();
            if rng.below(2) == 0 && data.len() >= 2 {
                data[0] = 0;
                data[1] = 16; // learn
            }
            Action::Experimenter {
                experimenter: 0x2320,
                data,
            }
        }
        28 => Action::PopQueue,
        _ => Action::Note(vec![1, 2, 3]),
    }
}

fn actions(rng: &mut Rng) -> Vec<Action> {
    (0..rng.below(5)).map(|_| action(rng)).collect()
}

fn instructions(rng: &mut Rng) -> Vec<Instruction> {
    (0..rng.below(4))
        .map(|_| match rng.below(7) {
            0 => Instruction::GotoTable(rng.next() as u8),
            1 => Instruction::WriteMetadata {
                metadata: rng.next(),
                mask: rng.next(),
            },
            2 => Instruction::WriteActions(actions(rng)),
            3 => Instruction::ClearActions,
            4 => Instruction::Meter(rng.below(3) as u32),
            _ => Instruction::ApplyActions(actions(rng)),
        })
        .collect()
}

fn random_match(rng: &mut Rng) -> ofproto::ofp::matching::Match {
    let texts = [
        "",
        "ip",
        "tcp,tp_dst=80",
        "arp",
        "dl_vlan=5",
        "mpls",
        "ipv6",
        "in_port=2",
        "icmp6,icmp_type=135",
    ];
    flow_mod(&format!(
        "{},actions=drop",
        texts[rng.below(texts.len() as u64) as usize]
    ))
    .match_
}

fn key(rng: &mut Rng) -> FlowKey {
    let mut k = FlowKey::ZERO;
    for w in k.words_mut().iter_mut() {
        if rng.below(3) == 0 {
            *w = rng.next();
        }
    }
    k.pad0 = 0;
    k.pad1 = [0; 6];
    k.pad2 = 0;
    k.pad3 = [0; 7];
    k.pad4 = 0;
    k.in_port = rng.below(6) as u32;
    k.dl_type = [0x0800, 0x86dd, 0x0806, 0x8847, 0x88e7, rng.next() as u16][rng.below(6) as usize];
    k
}

#[test]
fn random_controller_input_never_panics() {
    for seed in 1..=40u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let mut br = new_bridge();
        br.meter_mod(&meter_mod("meter=1,pktps,band=type=drop,rate=10"), 0)
            .expect("meter");
        let mut accepted = 0;
        for _ in 0..200 {
            match rng.below(10) {
                0 => {
                    let gm = GroupMod {
                        command: [
                            GroupModCommand::Add,
                            GroupModCommand::Modify,
                            GroupModCommand::Delete,
                        ][rng.below(3) as usize],
                        group_type: [
                            GroupType::All,
                            GroupType::Select,
                            GroupType::Indirect,
                            GroupType::FastFailover,
                        ][rng.below(4) as usize],
                        group_id: rng.below(5) as u32,
                        buckets: (0..rng.below(3))
                            .map(|_| Bucket {
                                weight: rng.below(3) as u16,
                                watch_port: port(&mut rng),
                                watch_group: rng.below(6) as u32,
                                actions: actions(&mut rng),
                            })
                            .collect(),
                    };
                    let _ = br.group_mod(&gm, 0);
                }
                1 => {
                    let po = PacketOut {
                        buffer_id: if rng.below(5) == 0 { 3 } else { u32::MAX },
                        in_port: port(&mut rng),
                        metadata: Default::default(),
                        actions: actions(&mut rng),
                        data: (0..rng.below(80)).map(|_| rng.next() as u8).collect(),
                    };
                    let _ = br.packet_out(&po, 0);
                }
                _ => {
                    let mut fm = FlowMod::new(
                        [
                            FlowModCommand::Add,
                            FlowModCommand::Add,
                            FlowModCommand::Modify,
                            FlowModCommand::Delete,
                            FlowModCommand::DeleteStrict,
                        ][rng.below(5) as usize],
                    );
                    fm.table_id = if rng.below(4) == 0 {
                        rng.next() as u8
                    } else {
                        rng.below(3) as u8
                    };
                    fm.priority = rng.below(3) as u16;
                    fm.flags = rng.next() as u16;
                    fm.out_port = port(&mut rng);
                    fm.match_ = random_match(&mut rng);
                    fm.instructions = instructions(&mut rng);
                    if br.flow_mod(&fm, 0).is_ok() {
                        accepted += 1;
                    }
                }
            }
        }
        assert!(accepted > 20, "seed {seed}: only {accepted} accepted");
        for _ in 0..200 {
            let k = key(&mut rng);
            let out = br.upcall(&k, 0);
            let _ = br.trace(&k, 0);
            assert!(out.error.is_some() || out.actions.len() < 10_000);
        }
        let _ = br.expire(1_000_000);
    }
}
