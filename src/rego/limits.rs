//! The budgets a Rego policy runs under, in one place (the README's "Limits" lists them). Each
//! one ends in a settings refusal or an admission denial that names it, never in a trap.

use std::num::NonZeroU32;
use std::time::Duration;

/// Bytes of one policy's source (settings refusal).
pub const MAX_SOURCE_BYTES: usize = 64 * 1024;
/// Open brackets `(`, `[`, `{` around any point of the source (settings refusal): regorus parses
/// and evaluates nesting by recursion on the guest's 1 MiB stack.
pub const MAX_NESTING: usize = 32;
/// Evaluation depth along any chain of rules and functions that depend on each other, each
/// rule weighing one plus its statements plus its bracket nesting (settings refusal): regorus
/// nests a stack frame group per rule link, per iterating statement and per bracket, and the
/// guest's stack held about 600 iterating statements in one rule. A cycle is refused whatever
/// its length.
pub const MAX_EVALUATION_DEPTH: usize = 256;
/// Wall-clock budget of one evaluation (admission denial), regorus's cooperative timer.
pub const TIME_LIMIT: Duration = Duration::from_secs(1);
/// Work units between two clock reads: few, because one work unit can cost more than the rest
/// of the evaluation (a multiplication of big integers doubles their size; at 64, squaring one
/// forty times ran for minutes). A clock read is a host call in the guest: 4 cost about a third
/// more time than 64 on a tight loop, 1 more than twice as much.
pub const CHECK_INTERVAL: NonZeroU32 = match NonZeroU32::new(4) {
    Some(n) => n,
    None => NonZeroU32::MIN,
};
/// Elements one builtin call may produce (`numbers.range`, `array.concat`, `walk`,
/// `net.cidr_expand`...) (admission denial).
pub const MAX_BUILTIN_ELEMENTS: usize = 100_000;
/// Bytes of one string a builtin call may produce (`concat`, `replace`, `sprintf`,
/// `json.marshal`...), and of the JSON of the `isCompliant` result (admission denial).
pub const MAX_BUILTIN_BYTES: usize = 1024 * 1024;
