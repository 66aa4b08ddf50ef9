//! Real-time factor of the built-in plugins on 1080p video, against decoding alone and
//! against the FFmpeg command line running the same filters.
//!
//! The input: 60 s of 1080p25 H.264 + AAC made with the ffmpeg command line (`testsrc2` and a
//! grainy pitch with a cut, pink crowd noise with a roar), cut into 4 s MPEG-TS chunks by
//! [`split_file`]. Runs over the same chunks, in this process:
//!
//! - **decode only**: every chunk demuxed and every audio and video frame decoded, nothing
//!   else; the least any analysis of the media costs.
//! - **plugins**: [`EventAnalyzer`] on every chunk (decode, `fps`, `blackdetect`, `scdet`,
//!   `silencedetect`, `ebur128`, the roar detector, segmenter and optimizer), at 5 analysed
//!   frames per second (the demo's profile) and at 25 (every frame).
//! - **ffmpeg CLI**: `ffmpeg -i match.mp4 -vf fps=5,blackdetect,scdet -af
//!   asetnsamples,silencedetect,ebur128=metadata=1 -f null -` (a subprocess, timed whole).
//!
//! Every run decodes video with FFmpeg's frame threads on every core (the CLI's default).
//!
//! Real-time factor (RTF) = seconds of media / seconds of wall clock (higher is faster).
//!
//! ```text
//! cargo bench -p reeltime-plugins --bench detector_speed [-- --seconds 60 --runs 1]
//! ```

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use ffmpeg_next as ffmpeg;

use reeltime_connectors::ingest::split::split_file;
use reeltime_connectors::ingest::{self, ChunkIngest};
use reeltime_plugins::video::VideoConfig;
use reeltime_plugins::{AnalysisConfig, EventAnalyzer};

fn main() {
    let mut seconds = 60u32;
    let mut runs = 1usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => seconds = args.next().and_then(|v| v.parse().ok()).expect("--seconds N"),
            "--runs" => runs = args.next().and_then(|v| v.parse().ok()).expect("--runs N"),
            _ => {}
        }
    }
    ingest::init().expect("FFmpeg initialises");
    let dir = tempfile::tempdir().unwrap();
    let video = dir.path().join("match.mp4");
    make_input(&video, seconds);
    let chunks: Vec<PathBuf> = split_file(&video, &dir.path().join("chunks"), 4.0)
        .unwrap()
        .into_iter()
        .map(|c| c.path)
        .collect();
    let media = f64::from(seconds);
    println!("input: {seconds} s of 1080p25 H.264 + AAC in {} chunks of 4 s", chunks.len());

    let best = |f: &dyn Fn() -> f64| (0..runs).map(|_| f()).fold(f64::INFINITY, f64::min);
    let decode = best(&|| timed(|| decode_only(&chunks)));
    let plugins_5 = best(&|| timed(|| analyse(&chunks, 5.0)));
    let plugins_25 = best(&|| timed(|| analyse(&chunks, 25.0)));
    let cli = best(&|| timed(|| ffmpeg_cli(&video)));
    println!("{:<36} {:>8} {:>8} {:>15}", "run", "seconds", "RTF", "vs decode only");
    for (name, wall) in [
        ("decode only (baseline)", decode),
        ("plugins at 5 fps", plugins_5),
        ("plugins at 25 fps (every frame)", plugins_25),
        ("ffmpeg CLI, same filters at 5 fps", cli),
    ] {
        println!("{name:<36} {wall:>8.2} {:>7.1}x {:>14.2}x", media / wall, decode / wall);
    }
}

fn timed(work: impl FnOnce()) -> f64 {
    let started = Instant::now();
    work();
    started.elapsed().as_secs_f64()
}

/// Runs the ffmpeg command line with `args`.
fn ffmpeg_command(args: &[&str]) {
    let output = Command::new("ffmpeg").args(["-v", "error", "-y"]).args(args).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

fn make_input(path: &Path, seconds: u32) {
    let half = seconds / 2;
    let graph = format!(
        "testsrc2=s=1920x1080:r=25:d={half}[a];\
         color=c=0x2f7d32:s=1920x1080:r=25:d={},noise=alls=12:allf=t:all_seed=5[b];\
         [a][b]concat=n=2:v=1:a=0[v];\
         anoisesrc=r=48000:c=pink:a=0.02:seed=1:d={seconds}[crowd];\
         anoisesrc=r=48000:c=white:a=0.5:seed=2:d=5,adelay={}:all=1[roar];\
         [crowd][roar]amix=inputs=2:normalize=0[aout]",
        seconds - half,
        half * 1000 + 2000,
    );
    ffmpeg_command(&[
        "-filter_complex",
        &graph,
        "-map",
        "[v]",
        "-map",
        "[aout]",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-g",
        "100",
        "-keyint_min",
        "100",
        "-sc_threshold",
        "0",
        "-c:a",
        "aac",
        path.to_str().unwrap(),
    ]);
}

/// A decoder of one stream.
enum Decoder {
    Video(ffmpeg::decoder::Video, ffmpeg::frame::Video),
    Audio(ffmpeg::decoder::Audio, ffmpeg::frame::Audio),
}

impl Decoder {
    /// Sends `packet` (or the end, for none) and counts the frames that come out.
    fn decode(&mut self, packet: Option<&ffmpeg::Packet>) -> u64 {
        let mut frames = 0;
        match self {
            Decoder::Video(decoder, frame) => {
                match packet {
                    Some(packet) => decoder.send_packet(packet).unwrap(),
                    None => decoder.send_eof().unwrap(),
                }
                while decoder.receive_frame(frame).is_ok() {
                    frames += 1;
                }
            }
            Decoder::Audio(decoder, frame) => {
                match packet {
                    Some(packet) => decoder.send_packet(packet).unwrap(),
                    None => decoder.send_eof().unwrap(),
                }
                while decoder.receive_frame(frame).is_ok() {
                    frames += 1;
                }
            }
        }
        frames
    }
}

fn decode_only(chunks: &[PathBuf]) {
    let mut frames = 0u64;
    for path in chunks {
        let mut input = ffmpeg::format::input(path).unwrap();
        let mut decoders: Vec<Option<Decoder>> = input
            .streams()
            .map(|s| {
                let mut context =
                    ffmpeg::codec::context::Context::from_parameters(s.parameters()).unwrap();
                match s.parameters().medium() {
                    ffmpeg::media::Type::Video => Some(Decoder::Video(
                        {
                            // Frame threads on every core, as the plugins decode.
                            context.set_threading(ffmpeg::codec::threading::Config {
                                kind: ffmpeg::codec::threading::Type::Frame,
                                count: 0,
                                ..Default::default()
                            });
                            context.decoder().video().unwrap()
                        },
                        ffmpeg::frame::Video::empty(),
                    )),
                    ffmpeg::media::Type::Audio => Some(Decoder::Audio(
                        context.decoder().audio().unwrap(),
                        ffmpeg::frame::Audio::empty(),
                    )),
                    _ => None,
                }
            })
            .collect();
        for (stream, packet) in input.packets() {
            if let Some(Some(decoder)) = decoders.get_mut(stream.index()) {
                frames += decoder.decode(Some(&packet));
            }
        }
        for decoder in decoders.iter_mut().flatten() {
            frames += decoder.decode(None);
        }
    }
    std::hint::black_box(frames);
}

fn analyse(chunks: &[PathBuf], processing_fps: f64) {
    let config = AnalysisConfig {
        video: VideoConfig { processing_fps, ..VideoConfig::default() },
        ..AnalysisConfig::default()
    };
    let mut ingest = ChunkIngest::new("bench");
    let mut analyzer = EventAnalyzer::new(config, &[1]);
    let mut records = 0;
    for path in chunks {
        let chunk = ingest.add(path).unwrap();
        records += analyzer.analyze_chunk(&chunk).unwrap().len();
    }
    records += analyzer.finish().unwrap().len();
    std::hint::black_box(records);
}

fn ffmpeg_cli(video: &Path) {
    ffmpeg_command(&[
        "-i",
        video.to_str().unwrap(),
        "-vf",
        "fps=5,blackdetect=d=0,scdet=threshold=10",
        "-af",
        "asetnsamples=n=4800:p=0,silencedetect=n=-60dB:d=1,ebur128=metadata=1",
        "-f",
        "null",
        "-",
    ]);
}
