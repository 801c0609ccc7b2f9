// @ts-check
// The open room's team: registered agents (for @mentions), each sender's
// latest status with its time, and the project's live claims on files and
// tasks (fetched each time the panel is drawn), in a panel the header's
// "Team" button opens.

import { api, enc } from "./api.js";
import { senderColour } from "./colours.js";
import { $, fullTime, h, timeAgo } from "./dom.js";

export class TeamPanel {
  constructor({ room, presence }) {
    this.room = room;
    this.presence = presence; // coordination.js's Presence: the dots' state
    this.panel = $("team");
    this.button = $("team-toggle");
    this.button.addEventListener("click", () => {
      this.panel.hidden = !this.panel.hidden;
      this.button.setAttribute("aria-expanded", String(!this.panel.hidden));
      this.render();
    });
    setInterval(() => this.render(), 30000);
  }

  render() {
    if (this.panel.hidden) return;
    const { agents, statusRows } = this.room;
    const agentItems = [...agents.values()].map((a) =>
      h(
        "li",
        {},
        this.presence.dot(a.agent_name),
        h("b", { class: senderColour(a.agent_name) }, a.agent_name),
        " ",
        h("span", { class: "muted" }, `task ${a.task_id}`),
        " ",
        a.registered_at ? h("time", { datetime: a.registered_at, title: fullTime(a.registered_at) }, timeAgo(a.registered_at)) : null,
      ),
    );
    const statusItems = [...statusRows.values()].map((s) =>
      h(
        "li",
        {},
        this.presence.dot(s.sender),
        h("b", { class: senderColour(s.sender) }, s.sender),
        ": ",
        s.status,
        " ",
        h("time", { datetime: s.updated_at, title: fullTime(s.updated_at) }, timeAgo(s.updated_at)),
      ),
    );
    const claims = h("section", { class: "claims" });
    this.panel.replaceChildren(
      h("h2", {}, `Agents (${agentItems.length})`),
      agentItems.length ? h("ul", {}, agentItems) : h("p", { class: "muted" }, "No agent registered for @mentions."),
      h("h2", {}, `Statuses (${statusItems.length})`),
      statusItems.length ? h("ul", {}, statusItems) : h("p", { class: "muted" }, "No status yet."),
      claims,
    );
    this.renderClaims(claims);
  }

  async renderClaims(section) {
    const roomId = this.room.room?.id;
    if (!roomId) return;
    const { claims } = await api(`/claims?room_id=${enc(roomId)}`).catch(() => ({ claims: [] }));
    const items = claims.map((c) =>
      h(
        "li",
        {},
        h("b", { class: senderColour(c.holder) }, c.holder),
        " ",
        h("code", {}, c.paths.join(" ") || "—"),
        c.task ? h("span", { class: "muted" }, ` task ${c.task}`) : null,
        c.exclusive ? null : h("span", { class: "muted" }, " (shared)"),
        c.note ? ` — ${c.note}` : null,
        " ",
        h("span", { class: "muted" }, "until "),
        h("time", { datetime: c.expires_at, title: fullTime(c.expires_at) }, fullTime(c.expires_at)),
      ),
    );
    section.replaceChildren(
      h("h2", {}, `Claims (${items.length})`),
      items.length ? h("ul", {}, items) : h("p", { class: "muted" }, "No file or task claimed in this project."),
    );
  }
}
