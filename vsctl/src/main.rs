//! `vsctl`: command-line tool with the syntax of `ovs-vsctl`.
//!
//! Nothing is implemented yet: it says so and exits with status 2 rather than
//! pretending to work.

fn main() {
    eprintln!("vsctl: no commands are implemented yet (see the project's issues)");
    std::process::exit(2);
}
