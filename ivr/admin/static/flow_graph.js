// The flow graph: lays out the server's graph data (ivr/admin/flow_graph.py) with dagre (static/vendor/) and draws
// it as SVG. Every edge label (exit name and calls in the last 30 days) is a dagre label node, so labels never
// overlap a step or each other, and edges are routed between the layers. Clicking a step opens the editor at its
// line; the selected call's path is drawn thicker. window.ivrFlowGraph.draw(host) draws one host element.
(function () {
  const SVG = "http://www.w3.org/2000/svg";
  const NODE_W = 180, NODE_H = 46, LABEL_H = 18, MARGIN = 16;
  const measure = document.createElement("canvas").getContext("2d");
  measure.font = "11px system-ui, sans-serif";

  function el(name, attrs, parent) {
    const node = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (parent) parent.appendChild(node);
    return node;
  }

  function labelText(edge) {
    const calls = edge.calls + (edge.calls === 1 ? " call" : " calls");
    return edge.label ? edge.label + " · " + calls : calls;
  }

  function layout(data) {
    const g = new dagre.graphlib.Graph({multigraph: true});
    g.setGraph({rankdir: "TB", nodesep: 36, edgesep: 18, ranksep: 44, marginx: MARGIN, marginy: MARGIN});
    g.setDefaultEdgeLabel(() => ({}));
    for (const n of data.nodes) g.setNode(n.id, {width: NODE_W, height: NODE_H, data: n});
    data.edges.forEach((e, i) => {
      const text = labelText(e);
      g.setEdge(e.from, e.to, {width: Math.ceil(measure.measureText(text).width) + 10, height: LABEL_H,
                               labelpos: "c", text: text, data: e}, "e" + i);
    });
    dagre.layout(g);
    return g;
  }

  function pathOf(points) {
    return points.map((p, i) => (i ? "L" : "M") + p.x.toFixed(1) + "," + p.y.toFixed(1)).join(" ");
  }

  // dagre's straight segments can clip a step's corner. Route in steps instead: vertical inside a layer (where
  // dagre's points stand clear of the steps), horizontal only halfway between layers, where there is no step.
  function route(points, src, tgt) {
    if (src === tgt) return points;
    const clamp = (x, n) => Math.min(Math.max(x, n.x - NODE_W / 2 + 10), n.x + NODE_W / 2 - 10);
    const down = points[points.length - 1].y > points[0].y;
    const first = {x: clamp(points[0].x, src), y: src.y + (down ? NODE_H / 2 : -NODE_H / 2)};
    const last = points[points.length - 1];
    const end = {x: clamp(last.x, tgt), y: tgt.y + (down ? -NODE_H / 2 : NODE_H / 2)};
    const middle = points.slice(1, -1);
    const stops = [first, ...middle, end], out = [first];
    for (let i = 1; i < stops.length; i++) {
      const a = stops[i - 1], b = stops[i], mid = (a.y + b.y) / 2;
      if (Math.abs(a.x - b.x) > 0.5) out.push({x: a.x, y: mid}, {x: b.x, y: mid});
      out.push(b);
    }
    return out;
  }

  function draw(host) {
    const data = JSON.parse(host.dataset.graph);
    const g = layout(data);
    const size = g.graph();
    const taken = new Set(data.taken.map(([a, b]) => a + "\u0000" + b));
    const visited = new Set(data.path);
    const svg = el("svg", {class: "flow-graph", viewBox: `0 0 ${size.width} ${size.height}`,
                           width: size.width, height: size.height, xmlns: SVG});
    const marker = el("marker", {id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7,
                                 markerHeight: 7, orient: "auto-start-reverse"}, el("defs", {}, svg));
    el("path", {d: "M0,0 L10,5 L0,10 z", fill: "#64748b"}, marker);
    const edges = el("g", {class: "edges"}, svg), labels = el("g", {class: "edge-labels"}, svg);
    for (const ref of g.edges()) {
      const edge = g.edge(ref), e = edge.data;
      const hot = taken.has(e.from + "\u0000" + e.to) ? " hot" : "";
      const points = route(edge.points, g.node(ref.v), g.node(ref.w));
      el("path", {class: "edge" + hot, d: pathOf(points), "marker-end": "url(#arrow)",
                  "data-from": e.from, "data-to": e.to}, edges);
      const box = el("g", {class: "edge-label" + hot, "data-from": e.from, "data-to": e.to}, labels);
      el("rect", {x: edge.x - edge.width / 2, y: edge.y - edge.height / 2, width: edge.width,
                  height: edge.height, rx: 4}, box);
      el("text", {x: edge.x, y: edge.y + 4}, box).textContent = edge.text;
      el("title", {}, box).textContent = `${e.from} → ${e.to}: ${e.calls} calls in the last 30 days`;
    }
    const nodes = el("g", {class: "nodes"}, svg);
    for (const id of g.nodes()) {
      const n = g.node(id), info = n.data;
      const cls = "node kind-" + info.kind + (info.start ? " start" : "") + (visited.has(id) ? " visited" : "");
      const box = el("g", {class: cls, "data-step": id, tabindex: 0, role: "link"}, nodes);
      el("rect", {x: n.x - NODE_W / 2, y: n.y - NODE_H / 2, width: NODE_W, height: NODE_H, rx: 8}, box);
      el("text", {class: "node-id", x: n.x, y: n.y - 4}, box).textContent = id.length > 22 ? id.slice(0, 21) + "…" : id;
      el("text", {class: "node-kind", x: n.x, y: n.y + 12}, box).textContent = info.kind;
      el("title", {}, box).textContent = `${id} (${info.kind})` + (info.line ? `, line ${info.line}` : "");
      if (host.dataset.edit && info.line) {
        const open = () => {
          const url = new URL(host.dataset.edit, location.href);
          url.searchParams.set("line", info.line);
          location.href = url.toString();
        };
        box.addEventListener("click", open);
        box.addEventListener("keydown", (ev) => { if (ev.key === "Enter") open(); });
      }
    }
    host.replaceChildren(svg);
  }

  window.ivrFlowGraph = {draw: draw};
  for (const host of document.querySelectorAll(".flow-graph-host")) draw(host);
})();
