//! Feeding an analysis filter graph and taking its output: what the audio and video analyses
//! share. A graph has one buffer source named `in` and one buffer sink named `out`.

use ffmpeg::filter;
use ffmpeg_next as ffmpeg;

/// Feeds `frame` into the graph's `in` source; `what` names the graph in errors.
pub(crate) fn feed(
    graph: &mut filter::Graph,
    frame: &ffmpeg::Frame,
    what: &str,
) -> Result<(), String> {
    graph
        .get("in")
        .expect("the graph has a source")
        .source()
        .add(frame)
        .map_err(|e| format!("the {what} analysis graph refused a frame: {e}"))
}

/// Takes the next frame the graph's `out` sink has ready into `output`: false when it has
/// none ready now (or has ended).
pub(crate) fn receive(
    sink: &mut filter::Context,
    output: &mut ffmpeg::Frame,
    what: &str,
) -> Result<bool, String> {
    match sink.sink().frame(output) {
        Ok(()) => Ok(true),
        Err(ffmpeg::Error::Eof) => Ok(false),
        Err(ffmpeg::Error::Other { errno }) if errno == ffmpeg::util::error::EAGAIN => Ok(false),
        Err(e) => Err(format!("the {what} analysis graph failed: {e}")),
    }
}
