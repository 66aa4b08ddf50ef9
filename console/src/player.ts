// HLS playback: hls.js over Media Source Extensions, or the browser's own HLS (Safari) when
// MSE is missing.

import Hls from 'hls.js/light';

export interface Player {
  /** Stops loading and releases the media element. */
  destroy(): void;
}

/** Plays the HLS playlist `url`. A replay's playlists keep their paths across its versions,
 * so every playlist request carries `cacheKey` (the rendered version) in its query: a browser
 * cache never answers with the previous version's. */
export function attachHls(video: HTMLVideoElement, url: string, cacheKey: string, onProblem: (message: string) => void): Player {
  const withKey = (u: string) => `${u}${u.includes('?') ? '&' : '?'}v=${encodeURIComponent(cacheKey)}`;
  if (Hls.isSupported()) {
    const hls = new Hls({
      enableWorker: true,
      lowLatencyMode: false,
      backBufferLength: 30,
      xhrSetup: (xhr, requestUrl) => {
        if (/\.m3u8($|\?)/.test(requestUrl) && !/[?&]v=/.test(requestUrl)) xhr.open('GET', withKey(requestUrl), true);
      },
    });
    let mediaRecoveries = 0;
    hls.on(Hls.Events.ERROR, (_event, data) => {
      if (!data.fatal) return;
      if (data.type === Hls.ErrorTypes.MEDIA_ERROR && mediaRecoveries < 2) {
        mediaRecoveries += 1;
        hls.recoverMediaError();
        return;
      }
      if (data.type === Hls.ErrorTypes.NETWORK_ERROR) {
        onProblem(`HLS network error (${data.details}); retrying`);
        window.setTimeout(() => hls.startLoad(), 2000);
        return;
      }
      onProblem(`HLS playback failed: ${data.details}`);
      hls.destroy();
    });
    hls.loadSource(withKey(url));
    hls.attachMedia(video);
    return {
      destroy: () => {
        hls.destroy();
        video.removeAttribute('src');
        video.load();
      },
    };
  }
  if (video.canPlayType('application/vnd.apple.mpegurl')) {
    video.src = withKey(url);
    return {
      destroy: () => {
        video.pause();
        video.removeAttribute('src');
        video.load();
      },
    };
  }
  onProblem('This browser plays neither HLS nor Media Source Extensions; use the MP4 link.');
  return { destroy: () => undefined };
}
