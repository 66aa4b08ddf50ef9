// HLS playback: hls.js over Media Source Extensions, or the browser's own HLS (Safari) when
// MSE is missing.

import Hls from 'hls.js/light';

export interface Player {
  /** Stops loading and releases the media element. */
  destroy(): void;
}

export function attachHls(video: HTMLVideoElement, url: string, onProblem: (message: string) => void): Player {
  if (Hls.isSupported()) {
    const hls = new Hls({ enableWorker: true, lowLatencyMode: false, backBufferLength: 30 });
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
    hls.loadSource(url);
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
    video.src = url;
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
