//! What a chunk's own packets say about its streams: the H.264 sequence parameter set of a
//! keyframe (Annex B, as MPEG-TS carries it) and the fixed header of an AAC ADTS frame.
//!
//! Two chunks whose packets carry the same ones encode pictures of the same size, profile and
//! format, and sound of the same rate and channels, so their packets can share one output
//! stream by stream copy. Checking that costs a few bytes, where FFmpeg's stream probing
//! decodes several frames of every chunk.

/// The sequence parameter set NAL unit of an H.264 Annex B packet (without its start code and
/// trailing zero bytes), if the packet has one.
pub(crate) fn h264_sps(annex_b: &[u8]) -> Option<&[u8]> {
    let mut rest = annex_b;
    while let Some(at) = rest.windows(3).position(|w| w == [0, 0, 1]) {
        let nal = &rest[at + 3..];
        let end = nal.windows(3).position(|w| w == [0, 0, 1]).unwrap_or(nal.len());
        if nal.first().is_some_and(|header| header & 0x1f == 7) {
            let mut sps = &nal[..end];
            while let [body @ .., 0] = sps {
                sps = body;
            }
            return Some(sps);
        }
        rest = &nal[end..];
    }
    None
}

/// The fixed part of an ADTS frame header that says what the sound is: MPEG version, profile,
/// sampling frequency and channel configuration (the private and copyright bits left out).
pub(crate) fn adts_config(frame: &[u8]) -> Option<[u8; 3]> {
    match frame {
        [0xff, b1, b2, b3, _, _, _, ..] if b1 & 0xf0 == 0xf0 => {
            Some([b1 & 0x0e, b2 & 0xfd, b3 & 0xc0])
        }
        _ => None,
    }
}

/// Sampling frequencies by ADTS sampling frequency index.
const ADTS_RATES: [u32; 13] =
    [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

/// The ADTS frames of a packet that holds one or more whole frames back to back (a PES packet
/// of MPEG-TS read without FFmpeg's parser), as `(offset, length)`, and their sample rate;
/// `None` when the packet is not exactly that.
pub(crate) fn adts_frames(data: &[u8]) -> Option<(Vec<(usize, usize)>, u32)> {
    let mut frames = Vec::new();
    let mut at = 0;
    let rate = ADTS_RATES.get(usize::from((*data.get(2)? >> 2) & 0x0f)).copied()?;
    while at < data.len() {
        let header = data.get(at..at + 7)?;
        adts_config(header)?;
        let length = (usize::from(header[3] & 0x03) << 11)
            | (usize::from(header[4]) << 3)
            | usize::from(header[5] >> 5);
        if length < 7 || at + length > data.len() {
            return None;
        }
        frames.push((at, length));
        at += length;
    }
    Some((frames, rate))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_sps_among_the_nal_units_of_a_keyframe() {
        let packet = [
            0, 0, 0, 1, 9, 0xf0, // access unit delimiter
            0, 0, 0, 1, 0x67, 0x64, 0, 0x1f, 0xac, 0x80, // SPS
            0, 0, 0, 1, 0x68, 0xee, 0x3c, 0x80, // PPS
            0, 0, 1, 0x65, 0x88, 0x84, // IDR slice
        ];
        assert_eq!(h264_sps(&packet), Some(&[0x67, 0x64, 0, 0x1f, 0xac, 0x80][..]));
        assert_eq!(h264_sps(&[0, 0, 1, 0x41, 0x9a]), None);
        assert_eq!(h264_sps(&[]), None);
    }

    #[test]
    fn reads_what_an_adts_header_says_about_the_sound() {
        // AAC LC, 48 kHz, stereo; then the same with the private bit set; then 44.1 kHz.
        let a = [0xff, 0xf1, 0x4c, 0x80, 0x2e, 0x7f, 0xfc];
        let b = [0xff, 0xf1, 0x4e, 0x80, 0x2e, 0x7f, 0xfc];
        let c = [0xff, 0xf1, 0x50, 0x80, 0x2e, 0x7f, 0xfc];
        assert_eq!(adts_config(&a), adts_config(&b));
        assert_ne!(adts_config(&a), adts_config(&c));
        assert_eq!(adts_config(&[0xff, 0xf1, 0x4c]), None);
        assert_eq!(adts_config(b"not an adts frame"), None);
    }

    #[test]
    fn splits_a_pes_packet_into_its_adts_frames() {
        let frame = |length: usize| {
            let mut frame = vec![0xff, 0xf1, 0x4c, 0x80, 0, 0, 0xfc];
            frame[3] |= ((length >> 11) & 0x03) as u8;
            frame[4] = ((length >> 3) & 0xff) as u8;
            frame[5] = (((length & 0x07) << 5) | 0x1f) as u8;
            frame.resize(length, 0x21);
            frame
        };
        let packet: Vec<u8> = [frame(300), frame(9), frame(371)].concat();
        assert_eq!(adts_frames(&packet), Some((vec![(0, 300), (300, 9), (309, 371)], 48000)));
        assert_eq!(adts_frames(&packet[..650]), None, "a frame cut short");
        assert_eq!(adts_frames(&[0, 0, 1, 0xe0]), None);
    }
}
