//! Standard output, for every command. A reader that goes away early (`cutover deadletters
//! list | head -1`) ends the command quietly with exit code 0, as Unix tools do, instead of a
//! panic ("failed printing to stdout: Broken pipe"). Every `println!` and `print!` of this crate
//! comes here: `lib.rs` defines them before any module.
//!
//! Ending the process at once is safe wherever it happens: everything cutover writes is
//! committed before the pages it covers are reported, and a run stopped at any point (even by
//! SIGKILL) resumes from its store.

use std::io::Write as _;

use crate::exit::Class;

/// Writes to standard output; when the reader is gone, ends the process with exit code 0.
pub fn write(args: std::fmt::Arguments<'_>) {
    let mut stdout = std::io::stdout().lock();
    let Err(error) = stdout.write_fmt(args) else {
        return;
    };
    if error.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    eprintln!("error: write to standard output: {error}");
    std::process::exit(i32::from(Class::Config.code()));
}
