// Parses every playlist named on the command line with hls-parser in strict mode (which
// rejects what RFC 8216 forbids: a segment longer than the target duration, tags in the wrong
// place or needing a higher version, ...) and prints one JSON line per playlist with what it
// read. Exits 1 with the parser's message on the first playlist it rejects.
const fs = require('fs');
const HLS = require('hls-parser');

HLS.setOptions({strictMode: true});
for (const file of process.argv.slice(2)) {
  let playlist;
  try {
    playlist = HLS.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    console.error(`${file}: ${error.message}`);
    process.exit(1);
  }
  const summary = playlist.isMasterPlaylist
    ? {file, master: true, variants: playlist.variants.map((v) => ({
        uri: v.uri, bandwidth: v.bandwidth, resolution: v.resolution, codecs: v.codecs}))}
    : {file, master: false, version: playlist.version, targetDuration: playlist.targetDuration,
       playlistType: playlist.playlistType, endlist: playlist.endlist,
       segments: playlist.segments.map((s) => ({
         uri: s.uri, duration: s.duration, discontinuity: s.discontinuity}))};
  console.log(JSON.stringify(summary));
}
