//! Terminal input on its own thread: crossterm events are read and sent to the event loop, and
//! the terminal going away is noticed and reported instead of spinning.
//!
//! When the terminal closes under the TUI (the pty's other side closed, a hangup, `tmux
//! kill-session`), reads return end-of-file or EIO at once, forever; crossterm's own poll then
//! reports no event and is called again immediately (a busy loop of `read()` calls). So before
//! asking crossterm, the thread polls the input descriptor itself: POLLHUP, POLLERR or POLLNVAL,
//! or input that is readable again and again without yielding an event, means the terminal is
//! gone. Uses `crossterm` and `libc`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{self, Event};
use tokio::sync::mpsc::UnboundedSender;

/// What the input thread sends.
#[derive(Debug)]
pub enum Input {
    Event(Event),
    /// The terminal went away (hangup, end of file, read error).
    Gone,
}

/// How long one wait for input lasts before the stop flag is checked again.
const WAIT: Duration = Duration::from_millis(200);
/// Readable-but-no-event rounds in a row that mean end of file rather than a partial sequence.
const EMPTY_READS_MEAN_EOF: u32 = 64;

/// Starts the thread; it ends when `stop` is set, the receiver is dropped, or the terminal goes.
pub fn spawn(tx: UnboundedSender<Input>, stop: Arc<AtomicBool>) {
    std::thread::Builder::new()
        .name("tui-input".into())
        .spawn(move || read_loop(&tx, &stop))
        .map(|_| ())
        .unwrap_or_else(|e| tracing::error!("cannot start the terminal input thread: {e}"));
}

fn read_loop(tx: &UnboundedSender<Input>, stop: &AtomicBool) {
    let mut empty = 0u32;
    while !stop.load(Ordering::Relaxed) {
        match wait_readable(libc::STDIN_FILENO, WAIT) {
            Readiness::Idle => continue,
            Readiness::Gone => {
                let _ = tx.send(Input::Gone);
                return;
            }
            Readiness::Readable => {}
        }
        let mut got = false;
        loop {
            match event::poll(Duration::ZERO) {
                Ok(true) => match event::read() {
                    Ok(ev) => {
                        got = true;
                        if tx.send(Input::Event(ev)).is_err() {
                            return;
                        }
                    }
                    Err(_) => {
                        let _ = tx.send(Input::Gone);
                        return;
                    }
                },
                Ok(false) => break,
                Err(_) => {
                    let _ = tx.send(Input::Gone);
                    return;
                }
            }
        }
        empty = if got { 0 } else { empty + 1 };
        if empty >= EMPTY_READS_MEAN_EOF {
            let _ = tx.send(Input::Gone);
            return;
        }
    }
}

/// Whether the terminal on standard input has gone away (checked without waiting).
pub fn terminal_gone() -> bool {
    wait_readable(libc::STDIN_FILENO, Duration::ZERO) == Readiness::Gone
}

#[derive(Debug, PartialEq)]
enum Readiness {
    Idle,
    Readable,
    Gone,
}

/// Waits up to `timeout` for `fd` to be readable; a hangup or error on it means `Gone`.
fn wait_readable(fd: libc::c_int, timeout: Duration) -> Readiness {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd for the duration of the call.
    let n = unsafe { libc::poll(&mut p, 1, timeout.as_millis() as libc::c_int) };
    if n < 0 {
        let err = std::io::Error::last_os_error();
        return if err.kind() == std::io::ErrorKind::Interrupted {
            Readiness::Idle
        } else {
            Readiness::Gone
        };
    }
    if n == 0 {
        return Readiness::Idle;
    }
    if p.revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0 {
        Readiness::Gone
    } else {
        Readiness::Readable
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn a_closed_pipe_end_is_gone_and_an_open_one_idle() {
        let (r, w) = std::io::pipe().unwrap();
        assert_eq!(
            wait_readable(r.as_raw_fd(), Duration::from_millis(10)),
            Readiness::Idle
        );
        drop(w);
        assert_eq!(
            wait_readable(r.as_raw_fd(), Duration::from_millis(10)),
            Readiness::Gone
        );
    }
}
