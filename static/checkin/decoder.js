/* QR decoder worker for the check-in tablet: jsQR on small frames, off the main thread.
   Message in: {id, buffer (RGBA, transferred), width, height}.
   Message out: {id, text (or null), ms (decode time), buffer (given back for reuse)}. */
"use strict";
importScripts("/static/vendor/jsqr/jsQR.js");

self.onmessage = (event) => {
  const { id, buffer, width, height } = event.data;
  const started = performance.now();
  let text = null;
  try {
    const code = self.jsQR(new Uint8ClampedArray(buffer), width, height, {
      inversionAttempts: "dontInvert",
    });
    if (code && code.data) text = code.data;
  } catch (error) {
    text = null;
  }
  self.postMessage({ id, text, ms: performance.now() - started, buffer }, [buffer]);
};
