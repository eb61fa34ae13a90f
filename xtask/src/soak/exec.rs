//! Exec clients (desktop): commands whose output is known exactly.

use super::clients::{IO_TIMEOUT, Load, compare, set_timeouts};
use super::desktop::Ctx;
use super::plan::{MAX_SEQ, Rng, file_size};
use sockframe_std::Client;
use std::net::SocketAddr;

/// One exec session: a connection, 1 to 8 commands whose output is known exactly.
pub(super) fn exec_session(
    load: &Load,
    ctx: &Ctx,
    addr: SocketAddr,
    seed: u64,
) -> Result<(), String> {
    let mut c = Client::connect_timeout(&addr, IO_TIMEOUT).map_err(|e| e.to_string())?;
    set_timeouts(c.stream(), IO_TIMEOUT)?;
    let mut rng = Rng::new(seed);
    let pool_file = ctx.pool_file.display().to_string();
    let missing = ctx.local.join("no-such-file").display().to_string();
    for _ in 0..rng.range(1, 8) {
        if load.stopping() {
            break;
        }
        // (argv, stdout, exit code, a phrase stderr must contain; None: stderr empty)
        let (argv, want, code, err_has): (Vec<String>, &[u8], i32, Option<&str>) =
            match rng.below(20) {
                0..8 => {
                    let n = file_size(&mut rng);
                    (
                        cmd(&["head", "-c", &n.to_string(), &pool_file]),
                        &ctx.pool[..n],
                        0,
                        None,
                    )
                }
                8..14 => {
                    let top = [10, 1000, MAX_SEQ][rng.below(3)];
                    let n = rng.range(0, top);
                    (
                        cmd(&["seq", "1", &n.to_string()]),
                        &ctx.seq[..ctx.seq_ends[n]],
                        0,
                        None,
                    )
                }
                14..17 => {
                    let n = file_size(&mut rng);
                    let zeros = &ctx.zeros[..n];
                    (
                        cmd(&["head", "-c", &n.to_string(), "/dev/zero"]),
                        zeros,
                        0,
                        None,
                    )
                }
                17..19 => (cmd(&["false"]), &[], 1, None),
                _ => (
                    cmd(&["head", "-c", "1", &missing]),
                    &[],
                    1,
                    Some("No such file or directory"),
                ),
            };
        let what = argv.join(" ");
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let outcome = c
            .exec(&argv, false, None, &mut out, &mut err)
            .map_err(|e| format!("`{what}`: {e}"))?;
        if outcome.code != Some(code) {
            return Err(format!(
                "`{what}`: exit {:?} (signal {:?}), expected {code}; stderr: {}",
                outcome.code,
                outcome.signal,
                String::from_utf8_lossy(&err)
            ));
        }
        compare(&out, want).map_err(|e| format!("`{what}`: stdout {e}"))?;
        let err_ok = match err_has {
            None => err.is_empty(),
            Some(phrase) => String::from_utf8_lossy(&err).contains(phrase),
        };
        if !err_ok {
            return Err(format!(
                "`{what}`: stderr {:?}, expected {}",
                String::from_utf8_lossy(&err),
                err_has.map_or("none".to_string(), |p| format!("one containing {p:?}"))
            ));
        }
        load.meter(2).add(1, out.len());
    }
    Ok(())
}

fn cmd(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}
