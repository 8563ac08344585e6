// Live operations dashboard: polls the JSON feed and redraws the table in place.
// Plain DOM with textContent only: alert details are typed by agents and never parsed as HTML.
(function () {
  "use strict";

  // Words from Django's JavaScript catalogue (config/urls.py "javascript-catalog", loaded before
  // this script), in the reader's language; English as written here when it did not load.
  var gettext = window.gettext || function (text) { return text; };
  var ngettext = window.ngettext || function (one, many, n) { return n === 1 ? one : many; };
  var interpolate = window.interpolate || function (text, values) {
    return text.replace(/%\((\w+)\)s/g, function (_, name) { return String(values[name]); });
  };
  // Each message is written out in a gettext() call (so makemessages finds it), then filled.
  function fill(text, values) {
    return interpolate(text, values, true);
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (attrs[key] !== null && attrs[key] !== undefined && attrs[key] !== "") {
        node.setAttribute(key, attrs[key]);
      }
    });
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function routeCell(row) {
    if (!row.route) { return el("td", {}, [gettext("No route today")]); }
    return el("td", {}, [el("a", {href: row.route_url}, [row.route_status])]);
  }

  function alertsCell(row) {
    if (!row.alerts.length) {
      return el("td", {"class": "fv-alerts"}, [row.open_alerts ? String(row.open_alerts) : gettext("None")]);
    }
    var items = row.alerts.map(function (alert) {
      var text = " " + fill(gettext("%(severity)s, %(status)s, %(age)s ago"),
                           {severity: alert.severity, status: alert.status, age: alert.age}) +
        (alert.raised_by ? fill(gettext(" by %(who)s"), {who: alert.raised_by}) : "") +
        (alert.step > 1 ? fill(gettext(", escalated to on-call #%(step)s"), {step: alert.step}) : "") +
        ": " + alert.detail;
      var parts = [el("a", {href: alert.url}, [alert.kind_label]), text];
      if (alert.undelivered) {
        parts.unshift(el("strong", {"class": "fv-undelivered"}, [gettext("UNDELIVERED") + " "]));
      }
      return el("li", {"class": "fv-alert fv-alert-" + alert.kind +
                       (alert.undelivered ? " fv-alert-undelivered" : "")}, parts);
    });
    return el("td", {"class": "fv-alerts"}, [el("ul", {}, items)]);
  }

  // Each agent's own clock: how long since their last report, and when the next is due.
  function agentsList(row) {
    if (!row.agents.length) { return row.last_checkin_age || "—"; }
    return el("ul", {"class": "fv-agents"}, row.agents.map(function (a) {
      var text = fill(gettext("%(agent)s: %(age)s ago"), {agent: a.agent, age: a.last_report_age}) +
        (a.due_local ? fill(gettext(", next due %(due)s"), {due: a.due_local}) : gettext(", back")) +
        (a.phone ? fill(gettext("; phone %(phone)s"), {phone: a.phone}) : "");
      return el("li", {"data-agent": a.agent, "class": a.overdue ? "fv-agent-overdue" : ""}, [text]);
    }));
  }

  function teamRow(row) {
    var css = row.panics ? "fv-panic" : (row.overdue || row.open_alerts ? "fv-warn" : "");
    var last = row.last_checkin_at
      ? fill(gettext("%(at)s %(kind)s by %(agent)s"), {at: row.last_checkin_local,
          kind: row.last_checkin_kind, agent: row.last_checkin_agent})
      : gettext("None yet");
    var overdue = row.overdue
      ? fill(gettext("%(agent)s: due %(due)s, %(late)s late (%(level)s told)"),
             {agent: row.overdue.agent, due: row.overdue.due_local, late: row.overdue.late,
              level: row.overdue.told})
      : "—";
    return el("tr", {"data-team": String(row.team_id), "class": css}, [
      el("th", {scope: "row"}, [row.team]),
      routeCell(row),
      el("td", {"class": "fv-last"}, [last]),
      el("td", {"class": "fv-age"}, [agentsList(row)]),
      el("td", {"class": "fv-open-visits"}, [String(row.open_visits)]),
      el("td", {"class": "fv-overdue"}, [overdue]),
      alertsCell(row)
    ]);
  }

  function render(root, board) {
    var body = document.getElementById("fv-teams");
    var rows = board.teams.map(teamRow);
    if (!rows.length) {
      rows = [el("tr", {"class": "fv-empty"}, [el("td", {colspan: "7"},
        [gettext("No team of yours is out today and no alert is open.")])])];
    }
    body.replaceChildren.apply(body, rows);
    document.getElementById("fv-open-alerts").textContent = String(board.open_alerts);
    var panics = document.getElementById("fv-panics");
    panics.textContent = String(board.panics);
    panics.className = board.panics ? "fv-panic-text" : "";
    root.setAttribute("data-undelivered", String(board.undelivered || 0));
    if (board.undelivered && window.fieldvisitTone) { window.fieldvisitTone(); }
    var updated = document.getElementById("fv-updated");
    updated.textContent = board.updated;
    updated.className = "";
    updated.setAttribute("data-live", "on");
    // The count leads the title, in brackets, whatever the language says after it.
    var count = interpolate(ngettext("%(count)s panic", "%(count)s panics", board.panics),
                            {count: board.panics}, true);
    document.title = (board.panics ? "(" + count + ") " : "") +
      document.title.replace(/^\(\d+[^)]*\) /, "");
  }

  function start() {
    var root = document.getElementById("fv-operations");
    if (!root) { return; }
    var feed = root.getAttribute("data-feed");
    var every = Math.max(1, parseInt(root.getAttribute("data-refresh-s"), 10) || 5) * 1000;
    function poll() {
      fetch(feed, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (response) {
          if (response.redirected || !response.ok) { throw new Error(String(response.status)); }
          return response.json();
        })
        .then(function (board) { render(root, board); })
        .catch(function () {
          // Signed out or the server is away: say the numbers are stale, keep trying.
          document.getElementById("fv-updated").className = "fv-stale";
        })
        .then(function () { window.setTimeout(poll, every); });
    }
    window.setTimeout(poll, every);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
