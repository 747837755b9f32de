//! `ofctl`: command-line tool with the syntax of `ovs-ofctl`.
//!
//! Nothing is implemented yet: it says so and exits with status 2 rather than
//! pretending to work.

fn main() {
    eprintln!("ofctl: no commands are implemented yet (see the project's issues)");
    std::process::exit(2);
}
