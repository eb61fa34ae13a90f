//! Files clients (desktop): uploads downloaded again and compared.

use super::clients::{IO_TIMEOUT, Load, compare, set_timeouts};
use super::desktop::Ctx;
use super::plan::{Rng, file_size};
use sockframe_std::Client;
use std::net::SocketAddr;

/// One files session: a connection, 1 to 8 uploads each downloaded again and compared
/// byte for byte (the library checks size and CRC-32C on both ways, this the content).
pub(super) fn files_session(
    load: &Load,
    ctx: &Ctx,
    addr: SocketAddr,
    idx: usize,
    seed: u64,
) -> Result<(), String> {
    let mut c = Client::connect_timeout(&addr, IO_TIMEOUT).map_err(|e| e.to_string())?;
    set_timeouts(c.stream(), IO_TIMEOUT)?;
    let mut rng = Rng::new(seed);
    let src = ctx.local.join(format!("c{idx}.up"));
    let back = ctx.local.join(format!("c{idx}.down"));
    for op in 0..rng.range(1, 8) {
        if load.stopping() {
            break;
        }
        let len = file_size(&mut rng);
        let off = rng.below(ctx.pool.len() - len + 1);
        let want = &ctx.pool[off..off + len];
        // A few names per client, overwritten again and again: disk use stays bounded.
        let remote = format!("c{idx}-{}.bin", rng.below(3));
        let what = format!("file {op} ({remote}, {len} B)");
        std::fs::write(&src, want).map_err(|e| format!("{what}: {}: {e}", src.display()))?;
        let put = c
            .put_file(&src, &remote, &mut |_, _| {})
            .map_err(|e| format!("{what}: put: {e}"))?;
        let got = c
            .get_file(&remote, &back, &mut |_, _| {})
            .map_err(|e| format!("{what}: get: {e}"))?;
        if put != len as u64 || got != len as u64 {
            return Err(format!("{what}: put stored {put} B, get returned {got} B"));
        }
        let content =
            std::fs::read(&back).map_err(|e| format!("{what}: {}: {e}", back.display()))?;
        compare(&content, want).map_err(|e| format!("{what}: downloaded {e}"))?;
        load.meter(1).add(2, len);
    }
    Ok(())
}
