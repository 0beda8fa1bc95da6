//! Checks that look across keys, run after the walker on the same spanned tree. Each reads only
//! values of the right shape; a value of the wrong shape was already reported by the walker.

pub(crate) mod coverage;
pub(crate) mod mapping;
pub(crate) mod platforms;
pub(crate) mod refs;
pub(crate) mod watch;
pub(crate) mod waves;
