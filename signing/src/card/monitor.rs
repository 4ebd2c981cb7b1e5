//! Readers and cards coming and going, as events.
//!
//! The monitor waits in `SCardGetStatusChange` on every reader plus the PnP notification pseudo
//! reader, so it sleeps until something changes: no polling loop.

use std::ffi::{CStr, CString};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::CardError;

/// What changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum ReaderEvent {
    ReaderAdded { reader: String },
    ReaderRemoved { reader: String },
    CardInserted { reader: String, atr: String },
    CardRemoved { reader: String },
}

/// Stops a running [`Monitor::run`] from another thread.
#[derive(Clone)]
pub struct MonitorHandle {
    ctx: pcsc::Context,
    stop: Arc<AtomicBool>,
    running: Arc<AtomicBool>,
}

impl MonitorHandle {
    /// Asks the monitor to stop and returns once it has (or after two seconds). `SCardCancel`
    /// only cancels a wait that has begun: a cancel that arrives while the monitor is handling
    /// events would be lost, so the flag is set first and the cancel repeated until it is out.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        for _ in 0..200 {
            if !self.running.load(Ordering::SeqCst) {
                return;
            }
            // Ignored: cancelling a context that is not waiting is harmless.
            let _ = self.ctx.cancel();
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// A reader monitor with its own PC/SC context.
pub struct Monitor {
    ctx: pcsc::Context,
    readers: Vec<pcsc::ReaderState>,
    stop: Arc<AtomicBool>,
    running: Arc<AtomicBool>,
}

impl Monitor {
    pub fn new() -> Result<Self, CardError> {
        let ctx = pcsc::Context::establish(pcsc::Scope::User)?;
        let readers = vec![pcsc::ReaderState::new(
            pcsc::PNP_NOTIFICATION(),
            pcsc::State::UNAWARE,
        )];
        Ok(Self {
            ctx,
            readers,
            stop: Arc::new(AtomicBool::new(false)),
            running: Arc::new(AtomicBool::new(false)),
        })
    }

    pub fn handle(&self) -> MonitorHandle {
        MonitorHandle {
            ctx: self.ctx.clone(),
            stop: Arc::clone(&self.stop),
            running: Arc::clone(&self.running),
        }
    }

    /// Calls `on_event` for each change, starting with the present state (every reader as added,
    /// every present card as inserted). Returns when stopped through a [`MonitorHandle`], when
    /// `on_event` returns false, or with an error when the PC/SC service fails.
    pub fn run(&mut self, on_event: impl FnMut(ReaderEvent) -> bool) -> Result<(), CardError> {
        self.running.store(true, Ordering::SeqCst);
        let result = self.watch(on_event);
        self.running.store(false, Ordering::SeqCst);
        result
    }

    fn watch(&mut self, mut on_event: impl FnMut(ReaderEvent) -> bool) -> Result<(), CardError> {
        loop {
            if self.stop.load(Ordering::SeqCst) {
                return Ok(());
            }
            for event in self.sync_readers()? {
                if !on_event(event) {
                    return Ok(());
                }
            }
            match self.ctx.get_status_change(None, &mut self.readers) {
                Ok(()) => {}
                Err(pcsc::Error::Cancelled) => return Ok(()),
                // The last reader went away while we waited: the list is rebuilt above.
                Err(pcsc::Error::UnknownReader) | Err(pcsc::Error::NoReadersAvailable) => {}
                Err(e) => return Err(e.into()),
            }
            for event in self.card_events() {
                if !on_event(event) {
                    return Ok(());
                }
            }
        }
    }

    /// Adds readers that appeared and drops the ones that left.
    fn sync_readers(&mut self) -> Result<Vec<ReaderEvent>, CardError> {
        let present: Vec<CString> = match self.ctx.list_readers_owned() {
            Ok(r) => r,
            Err(pcsc::Error::NoReadersAvailable) => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        let mut events = Vec::new();
        self.readers.retain(|rs| {
            let keep = is_pnp(rs.name()) || present.iter().any(|p| p.as_c_str() == rs.name());
            if !keep {
                events.push(ReaderEvent::ReaderRemoved {
                    reader: lossy(rs.name()),
                });
                if rs.current_state().contains(pcsc::State::PRESENT) {
                    events.insert(
                        events.len() - 1,
                        ReaderEvent::CardRemoved {
                            reader: lossy(rs.name()),
                        },
                    );
                }
            }
            keep
        });
        for name in present {
            if !self.readers.iter().any(|rs| rs.name() == name.as_c_str()) {
                events.push(ReaderEvent::ReaderAdded {
                    reader: lossy(&name),
                });
                self.readers
                    .push(pcsc::ReaderState::new(name, pcsc::State::UNAWARE));
            }
        }
        Ok(events)
    }

    fn card_events(&mut self) -> Vec<ReaderEvent> {
        let mut events = Vec::new();
        for rs in &mut self.readers {
            if is_pnp(rs.name()) {
                rs.sync_current_state();
                continue;
            }
            let before = rs.current_state().contains(pcsc::State::PRESENT);
            let now = rs.event_state().contains(pcsc::State::PRESENT);
            let reader = lossy(rs.name());
            if before && !now {
                events.push(ReaderEvent::CardRemoved {
                    reader: reader.clone(),
                });
            }
            if now && !before {
                events.push(ReaderEvent::CardInserted {
                    reader,
                    atr: hex::encode_upper(rs.atr()),
                });
            }
            rs.sync_current_state();
        }
        events
    }
}

fn is_pnp(name: &CStr) -> bool {
    name == pcsc::PNP_NOTIFICATION()
}

fn lossy(name: &CStr) -> String {
    name.to_string_lossy().into_owned()
}
