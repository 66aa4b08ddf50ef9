//! The files of a long run, written on a thread of their own, so that no epoch ever waits for
//! them.
//!
//! Writing an event's views and exports takes as long as the event is big, which for a live
//! match hours in is tens of milliseconds; on the sink thread, every epoch after a write would
//! wait that long for its Kafka transaction. So the [`FileWriter`] keeps a copy of the read
//! model, fed the same row changes in the same order (its versions and documents are the
//! same), with a copy of what the render sink made of them ([`MediaCopy`]), and writes the
//! files of what changed every write interval, at its own pace: the epochs it has not got to
//! yet are simply applied before its next write. The files lag the views by up to a write
//! interval, as they always did; the run's last write is the driver's, from its own read
//! model, once the writer has stopped.

use std::collections::BTreeMap;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};

use reeltime_connectors::output_dir::OutputDir;
use reeltime_operators::read_model::ReadModel;
use reeltime_operators::rows::RowChange;
use reeltime_schemas::document::{RenderedReplayDoc, TrackClipsDoc};

use crate::export::ExportOptions;
use crate::output::{LayoutWriter, RenderedMedia};
use crate::render_sink::RenderSink;

/// What the render sink made of the views, copied for the writer's thread.
#[derive(Debug, Default)]
pub struct MediaCopy {
    clips: BTreeMap<(String, u64), BTreeMap<String, TrackClipsDoc>>,
    replays: BTreeMap<String, RenderedReplayDoc>,
    playlists: BTreeMap<String, BTreeMap<String, String>>,
}

impl RenderedMedia for MediaCopy {
    fn segment_clips(&self, event_id: &str, start_ms: u64) -> BTreeMap<String, TrackClipsDoc> {
        self.clips.get(&(event_id.to_owned(), start_ms)).cloned().unwrap_or_default()
    }

    fn replay_rendered(&self, replay_id: &str) -> Option<RenderedReplayDoc> {
        self.replays.get(replay_id).cloned()
    }

    fn event_playlists(&self, event_id: &str) -> BTreeMap<String, String> {
        self.playlists.get(event_id).cloned().unwrap_or_default()
    }
}

/// What changed in what the render sink made, for a [`MediaCopy`].
#[derive(Debug, Default)]
pub struct MediaUpdate {
    clips: Vec<((String, u64), BTreeMap<String, TrackClipsDoc>)>,
    replays: Vec<(String, Option<RenderedReplayDoc>)>,
    playlists: Vec<(String, BTreeMap<String, String>)>,
}

impl MediaUpdate {
    /// What `render` now says of the segments and replays whose rendering changed, and of
    /// those segments' events' playlists.
    pub fn of(
        render: &RenderSink,
        segments: &std::collections::BTreeSet<(String, u64)>,
        replays: &std::collections::BTreeSet<String>,
    ) -> MediaUpdate {
        let mut events: Vec<&String> = segments.iter().map(|(event_id, _)| event_id).collect();
        events.dedup();
        MediaUpdate {
            clips: segments
                .iter()
                .map(|(event_id, start_ms)| {
                    ((event_id.clone(), *start_ms), render.segment_clips(event_id, *start_ms))
                })
                .collect(),
            replays: replays.iter().map(|id| (id.clone(), render.replay_rendered(id))).collect(),
            playlists: events
                .into_iter()
                .map(|event_id| (event_id.clone(), render.event_playlists(event_id)))
                .collect(),
        }
    }

    fn is_empty(&self) -> bool {
        self.clips.is_empty() && self.replays.is_empty() && self.playlists.is_empty()
    }

    fn apply(self, copy: &mut MediaCopy, layout: &mut LayoutWriter) {
        let segments = self.clips.iter().map(|(key, _)| key.clone()).collect();
        let replays = self.replays.iter().map(|(id, _)| id.clone()).collect();
        layout.mark_rendered(&segments, &replays);
        for (key, clips) in self.clips {
            copy.clips.insert(key, clips);
        }
        for (replay_id, rendered) in self.replays {
            match rendered {
                Some(rendered) => copy.replays.insert(replay_id, rendered),
                None => copy.replays.remove(&replay_id),
            };
        }
        for (event_id, playlists) in self.playlists {
            copy.playlists.insert(event_id, playlists);
        }
    }
}

/// What the driver sends the writer.
enum Message {
    /// An epoch's row changes, and what the render sink finished with it.
    Epoch(Vec<RowChange>, MediaUpdate),
    /// The replay versions published before a restart.
    Versions(BTreeMap<String, u64>),
    /// Every file is to be written again (the state was rebuilt).
    MarkAll,
}

/// The thread that writes the files of what changed (see the module documentation).
pub struct FileWriter {
    sender: Option<Sender<Message>>,
    handle: Option<JoinHandle<Result<()>>>,
}

impl FileWriter {
    /// Starts writing into `out` every `every`.
    pub fn start(out: OutputDir, export: ExportOptions, every: Duration) -> Result<FileWriter> {
        let (sender, receiver) = mpsc::channel();
        let handle = std::thread::Builder::new()
            .name("file-writer".into())
            .spawn(move || write_files(receiver, &out, export, every))
            .context("starting the file writer thread")?;
        Ok(FileWriter { sender: Some(sender), handle: Some(handle) })
    }

    /// Hands over an epoch's row changes (in epoch order, rebuilt ones too) and what the
    /// render sink finished with it.
    pub fn epoch(&mut self, rows: Vec<RowChange>, media: MediaUpdate) -> Result<()> {
        self.send(Message::Epoch(rows, media))
    }

    /// Hands over the replay versions published before a restart.
    pub fn restore_versions(&mut self, versions: BTreeMap<String, u64>) -> Result<()> {
        self.send(Message::Versions(versions))
    }

    /// Has every file written again at the next write.
    pub fn mark_all(&mut self) -> Result<()> {
        self.send(Message::MarkAll)
    }

    /// Sends `message`; when the thread has ended (it stops only on an error), returns that
    /// error.
    fn send(&mut self, message: Message) -> Result<()> {
        if self.sender.as_ref().is_some_and(|sender| sender.send(message).is_ok()) {
            return Ok(());
        }
        drop(self.sender.take());
        match self.handle.take().map(JoinHandle::join) {
            Some(Ok(Err(error))) => Err(error),
            Some(Err(_)) => Err(anyhow!("the file writer panicked")),
            Some(Ok(Ok(()))) | None => Err(anyhow!("the file writer stopped")),
        }
    }

    /// Stops the writer once its current write is done; returns its error, if it had one.
    pub fn stop(mut self) -> Result<()> {
        drop(self.sender.take());
        match self.handle.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(anyhow!("the file writer panicked")),
            None => Ok(()),
        }
    }
}

/// The writer's thread: applies what comes, writes every `every`, stops when the driver hangs
/// up.
fn write_files(
    receiver: Receiver<Message>,
    out: &OutputDir,
    export: ExportOptions,
    every: Duration,
) -> Result<()> {
    let mut model = ReadModel::default();
    let mut media = MediaCopy::default();
    let mut layout = LayoutWriter::default();
    let mut last_write = Instant::now();
    loop {
        let wait = every.saturating_sub(last_write.elapsed());
        let first = match receiver.recv_timeout(wait) {
            Ok(message) => Some(message),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        };
        // Everything waiting is applied before the next write.
        for message in first.into_iter().chain(receiver.try_iter()) {
            match message {
                Message::Epoch(rows, update) => {
                    layout.mark(&model.apply(rows));
                    if !update.is_empty() {
                        update.apply(&mut media, &mut layout);
                    }
                }
                Message::Versions(versions) => model.restore_versions(versions),
                Message::MarkAll => layout.mark_all(),
            }
        }
        if last_write.elapsed() >= every {
            if layout.is_marked() {
                layout
                    .flush(out, &model, Some(&media), export, None)
                    .context("writing the files of what changed")?;
            }
            last_write = Instant::now();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_is_the_error_of_the_next_hand_over() {
        let dir = tempfile::tempdir().unwrap();
        let out = OutputDir::prepare(dir.path()).unwrap();
        // A file where the events' folders go: listing them to remove unknown ones fails.
        std::fs::write(dir.path().join("events"), "not a folder").unwrap();
        let mut writer =
            FileWriter::start(out, ExportOptions::default(), Duration::from_millis(1)).unwrap();
        writer.mark_all().unwrap();
        // The thread fails at its next write, a millisecond on; every hand-over until then
        // succeeds.
        let deadline = Instant::now() + Duration::from_secs(30);
        let error = loop {
            if let Err(error) = writer.mark_all() {
                break error;
            }
            assert!(Instant::now() < deadline, "the writer never failed");
            std::thread::sleep(Duration::from_millis(1));
        };
        let message = format!("{error:#}");
        assert!(message.contains("writing the files of what changed"), "{message}");
        assert!(message.contains("events"), "{message}");
        assert!(writer.stop().is_ok(), "the error was reported once, at the hand-over");
    }
}
