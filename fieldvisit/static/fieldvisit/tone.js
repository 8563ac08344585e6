// A short tone for pages that must be heard (an alert that reached nobody). Browsers play
// sound only after the page was clicked once; without a sound device nothing happens and the
// page's own banner still shows.
(function () {
  "use strict";
  var audio = null;
  window.fieldvisitTone = function () {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var osc = audio.createOscillator(), gain = audio.createGain();
      osc.frequency.value = 880;
      gain.gain.value = 0.2;
      osc.connect(gain);
      gain.connect(audio.destination);
      osc.start();
      osc.stop(audio.currentTime + 0.4);
    } catch (e) { /* no sound device */ }
  };
})();
