// A small force-directed layout drawn in SVG: nodes repel, links pull, a few hundred steps
// computed up front (no animation loop to keep running), then drawn once.
const NS = "http://www.w3.org/2000/svg";
const COLORS = { character: "#2f5fd0", location: "#1f8a4c", scene: "#b7791f", object: "#8e44ad", theme: "#c0392b", shot: "#16a085" };

function el(tag, attrs = {}) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

export function layout(nodes, links, width, height, steps = 300) {
  const n = nodes.length;
  const pos = nodes.map((_, i) => ({ x: width / 2 + Math.cos(i * 2.4) * (50 + i * 3), y: height / 2 + Math.sin(i * 2.4) * (50 + i * 3) }));
  const index = new Map(nodes.map((node, i) => [node.name, i]));
  const edges = links.map((l) => [index.get(l.source), index.get(l.target)]).filter(([a, b]) => a !== undefined && b !== undefined);
  const k = Math.sqrt((width * height) / Math.max(1, n)) * 0.6;
  for (let step = 0; step < steps; step++) {
    const temp = (1 - step / steps) * k * 0.5;
    const disp = pos.map(() => ({ x: 0, y: 0 }));
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        let dx = pos[i].x - pos[j].x, dy = pos[i].y - pos[j].y;
        const d = Math.max(1, Math.hypot(dx, dy));
        const f = (k * k) / d;
        dx /= d; dy /= d;
        disp[i].x += dx * f; disp[i].y += dy * f; disp[j].x -= dx * f; disp[j].y -= dy * f;
      }
    }
    for (const [a, b] of edges) {
      let dx = pos[a].x - pos[b].x, dy = pos[a].y - pos[b].y;
      const d = Math.max(1, Math.hypot(dx, dy));
      const f = (d * d) / k;
      dx /= d; dy /= d;
      disp[a].x -= dx * f; disp[a].y -= dy * f; disp[b].x += dx * f; disp[b].y += dy * f;
    }
    for (let i = 0; i < n; i++) {
      const d = Math.max(1, Math.hypot(disp[i].x, disp[i].y));
      pos[i].x = Math.min(width - 20, Math.max(20, pos[i].x + (disp[i].x / d) * Math.min(d, temp)));
      pos[i].y = Math.min(height - 20, Math.max(20, pos[i].y + (disp[i].y / d) * Math.min(d, temp)));
    }
  }
  return pos;
}

export function drawGraph(svg, graph, shownTypes, onSelect) {
  const width = svg.clientWidth || 900, height = svg.clientHeight || 560;
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.replaceChildren();
  const nodes = graph.entities.filter((e) => shownTypes.has(e.type || "other")).slice(0, 400);
  const names = new Set(nodes.map((e) => e.name));
  const links = graph.relationships.filter((l) => names.has(l.source) && names.has(l.target));
  const pos = layout(nodes, links, width, height);
  const at = new Map(nodes.map((node, i) => [node.name, pos[i]]));
  for (const l of links) {
    const a = at.get(l.source), b = at.get(l.target);
    const line = el("line", { x1: a.x, y1: a.y, x2: b.x, y2: b.y, stroke: "#b8bdc9", "stroke-width": 1 });
    line.append(Object.assign(el("title"), { textContent: l.description || "" }));
    svg.append(line);
  }
  nodes.forEach((node, i) => {
    const g = el("g", { class: "node", transform: `translate(${pos[i].x},${pos[i].y})`, "data-name": node.name, "data-type": node.type || "other" });
    g.append(el("circle", { r: 7, fill: COLORS[(node.type || "").toLowerCase()] || "#667" }));
    const label = el("text", { x: 10, y: 4 });
    label.textContent = node.name.length > 28 ? `${node.name.slice(0, 27)}…` : node.name;
    g.append(label);
    // a node is a button: reached with Tab, chosen with Enter or Space, named for a screen reader
    g.setAttribute("tabindex", "0");
    g.setAttribute("role", "button");
    g.setAttribute("aria-label", `${node.name} (${node.type || "other"})`);
    const select = () => onSelect(node, graph.relationships.filter((l) => l.source === node.name || l.target === node.name));
    g.addEventListener("click", select);
    g.addEventListener("keydown", (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); select(); } });
    svg.append(g);
  });
}
