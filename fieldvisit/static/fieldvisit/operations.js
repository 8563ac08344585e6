// Live operations dashboard: polls the JSON feed and redraws the table in place.
// Plain DOM with textContent only: alert details are typed by agents and never parsed as HTML.
(function () {
  "use strict";

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
    if (!row.route) { return el("td", {}, ["No route today"]); }
    return el("td", {}, [el("a", {href: row.route_url}, [row.route_status])]);
  }

  function alertsCell(row) {
    if (!row.alerts.length) {
      return el("td", {"class": "fv-alerts"}, [row.open_alerts ? String(row.open_alerts) : "None"]);
    }
    var items = row.alerts.map(function (alert) {
      var text = " " + alert.severity + ", " + alert.status + ", " + alert.age + " ago" +
        (alert.raised_by ? " by " + alert.raised_by : "") +
        (alert.step > 1 ? ", escalated to on-call #" + alert.step : "") + ": " + alert.detail;
      var parts = [el("a", {href: alert.url}, [alert.kind_label]), text];
      if (alert.undelivered) {
        parts.unshift(el("strong", {"class": "fv-undelivered"}, ["UNDELIVERED "]));
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
      var text = a.agent + ": " + a.last_report_age + " ago" +
        (a.due_local ? ", next due " + a.due_local : ", back") +
        (a.phone ? "; phone " + a.phone : "");
      return el("li", {"data-agent": a.agent, "class": a.overdue ? "fv-agent-overdue" : ""}, [text]);
    }));
  }

  function teamRow(row) {
    var css = row.panics ? "fv-panic" : (row.overdue || row.open_alerts ? "fv-warn" : "");
    var last = row.last_checkin_at
      ? row.last_checkin_local + " " + row.last_checkin_kind + " by " + row.last_checkin_agent
      : "None yet";
    var overdue = row.overdue
      ? row.overdue.agent + ": due " + row.overdue.due_local + ", " + row.overdue.late +
        " late (" + row.overdue.level + " told)"
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
        ["No team of yours is out today and no alert is open."])])];
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
    document.title = (board.panics ? "(" + board.panics + " panic) " : "") +
      document.title.replace(/^\(\d+ panic\) /, "");
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
