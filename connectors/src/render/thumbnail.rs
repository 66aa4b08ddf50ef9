//! JPEG thumbnails: the first frame at or after a point of event time, scaled.

use std::fs;
use std::path::Path;

use ffmpeg_next::{codec, encoder, format, frame, Dictionary, Packet, Rational};
use reeltime_schemas::record::Chunk;

use super::mux::{temporary, Cleanup};
use super::source::{ticks_to_ms, Kind, Source, TIMELINE};
use super::RenderError;

/// JPEG quality scale of FFmpeg's encoder (2 is best, 31 worst), as a lambda.
const JPEG_QUALITY: &str = "3";

/// Writes (on `cleanup`'s commit) to `path` a JPEG `width` pixels wide of the first frame at or after `at_ms`,
/// decoding from the first keyframe of `chunks[first]`; near the end of the media, the last
/// frame there is.
pub(crate) fn write_thumbnail(
    chunks: &[Chunk],
    first: usize,
    track: u32,
    at_ms: u64,
    width: u32,
    path: &Path,
    cleanup: &mut Cleanup,
) -> Result<(), RenderError> {
    if width < 2 {
        return Err(RenderError::Options(format!("thumbnail width {width} is below 2 pixels")));
    }
    let mut source = Source::open(chunks.to_vec(), first, track, at_ms)?.for_decoding();
    let Some(video) = source.video.as_ref() else {
        return Err(source.error("has no video to take a thumbnail of"));
    };
    let mut decoder = codec::Context::from_parameters(video.parameters.clone())
        .map_err(|e| source.error(format!("cannot decode its video: {e}")))?
        .decoder();
    decoder.set_packet_time_base(TIMELINE);
    let mut decoder =
        decoder.video().map_err(|e| source.error(format!("cannot decode its video: {e}")))?;
    let mut chosen: Option<frame::Video> = None;
    let mut decoded = frame::Video::empty();
    let mut seen_keyframe = false;
    let mut at_end = false;
    'decoding: loop {
        // Frames come out in presentation order: the first at or after the point is the one.
        while decoder.receive_frame(&mut decoded).is_ok() {
            let reached = decoded.timestamp().is_some_and(|t| ticks_to_ms(t) >= at_ms);
            chosen = Some(decoded.clone());
            if reached {
                break 'decoding;
            }
        }
        if at_end {
            break;
        }
        match source.next_packet()? {
            Some(item) if item.kind == Kind::Video => {
                seen_keyframe |= item.packet.is_key();
                if seen_keyframe {
                    decoder
                        .send_packet(&item.packet)
                        .map_err(|e| source.error(format!("cannot decode its video: {e}")))?;
                }
            }
            Some(_) => {}
            None => {
                at_end = true;
                decoder
                    .send_eof()
                    .map_err(|e| source.error(format!("cannot decode its video: {e}")))?;
            }
        }
    }
    let Some(picture) = chosen else {
        return Err(source.error("has no frame to make a thumbnail of"));
    };
    let jpeg = encode_jpeg(&picture, width)?;
    let partial = temporary(path);
    cleanup.add(partial.clone());
    fs::write(&partial, jpeg).map_err(|e| RenderError::output(&partial)(e.to_string()))?;
    cleanup.rename_on_commit(partial, path.to_owned());
    Ok(())
}

/// Scales a frame to `width` (height by aspect ratio, even) and encodes it as JPEG.
fn encode_jpeg(picture: &frame::Video, width: u32) -> Result<Vec<u8>, RenderError> {
    let width = width & !1;
    let aspect = picture.aspect_ratio();
    let display_width = if aspect.numerator() > 0 && aspect.denominator() > 0 {
        u64::from(picture.width()) * aspect.numerator() as u64 / aspect.denominator() as u64
    } else {
        u64::from(picture.width())
    };
    let height = (u64::from(width) * u64::from(picture.height()) / display_width.max(1)).max(2);
    let height = (height as u32) & !1;
    let mut scaler = ffmpeg_next::software::scaling::Context::get(
        picture.format(),
        picture.width(),
        picture.height(),
        format::Pixel::YUVJ420P,
        width,
        height,
        ffmpeg_next::software::scaling::Flags::BICUBIC,
    )
    .map_err(RenderError::codec("thumbnail scaling"))?;
    let mut scaled = frame::Video::empty();
    scaler.run(picture, &mut scaled).map_err(RenderError::codec("thumbnail scaling"))?;
    scaled.set_pts(Some(0));
    let codec = encoder::find(codec::Id::MJPEG)
        .ok_or_else(|| RenderError::Options("FFmpeg has no JPEG encoder".into()))?;
    let mut jpeg = codec::Context::new_with_codec(codec)
        .encoder()
        .video()
        .map_err(RenderError::codec("JPEG encoder setup"))?;
    jpeg.set_width(width);
    jpeg.set_height(height);
    jpeg.set_format(format::Pixel::YUVJ420P);
    jpeg.set_time_base(Rational(1, 25));
    let mut options = Dictionary::new();
    options.set("flags", "+qscale");
    options.set("qmin", JPEG_QUALITY);
    options.set("qmax", JPEG_QUALITY);
    let mut jpeg =
        jpeg.open_with(options).map_err(RenderError::codec("opening the JPEG encoder"))?;
    jpeg.send_frame(&scaled).map_err(RenderError::codec("JPEG encoder"))?;
    jpeg.send_eof().map_err(RenderError::codec("JPEG encoder"))?;
    let mut packet = Packet::empty();
    jpeg.receive_packet(&mut packet).map_err(RenderError::codec("JPEG encoder"))?;
    Ok(packet.data().unwrap_or_default().to_vec())
}
