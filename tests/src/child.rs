//! Child processes that never outlive the test that started them.

use std::os::unix::process::CommandExt as _;
use std::process::Command;

/// Makes the kernel kill the child (SIGKILL) when the thread that spawns it dies, so no
/// server or QEMU outlives a crashed test (a panic that unwinds is handled by `Drop`).
pub fn die_with_parent(cmd: &mut Command) {
    // SAFETY: prctl is async-signal-safe; it only asks the kernel to kill the child if the
    // thread that started it dies.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}
