// The console's one script: it shows every <time datetime> in the viewer's time zone, keeping UTC
// on hover (the title). Without it the pages show UTC, and work the same.
"use strict";
(function () {
  const format = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short",
  });
  for (const el of document.querySelectorAll("time[datetime]")) {
    const at = new Date(el.getAttribute("datetime"));
    if (Number.isNaN(at.getTime())) continue;
    if (!el.title) el.title = el.textContent.trim();
    el.textContent = format.format(at);
    el.dataset.local = "true";
  }
  const zone = document.getElementById("time-zone");
  if (zone) {
    const name = Intl.DateTimeFormat().resolvedOptions().timeZone || "your time zone";
    zone.textContent = "Times are in your time zone (" + name + "); hover over one for UTC.";
  }
})();
