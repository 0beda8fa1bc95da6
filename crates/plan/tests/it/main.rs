//! The plan file, end to end through the public API: templates that check clean, broken plans
//! whose every diagnostic is snapshotted, and loading from disk.

mod broken;
mod init;
mod load;
