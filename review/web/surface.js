// 3-D surface view: draws the mesh from /api/cases/{id}/surface (package
// mesh's binary form, see mesh/io.go) with WebGL, or with a 2-D canvas
// (painter's algorithm) where WebGL is missing. Drag to rotate, wheel to
// zoom. No external libraries.
"use strict";

const UNLABELLED = [0.8, 0.8, 0.8];

// labelColour is label l's colour in [0, 1] from the case's label_colours
// ([r, g, b] in 0..255 for labels 1 to 255, package ear's table), so that
// the surface has the colours of the slice overlays.
function labelColour(l, colours) {
  const c = l > 0 && colours ? colours[l - 1] : null;
  return c ? c.map((x) => x / 255) : UNLABELLED;
}

// parseSurface reads "OTOMESH1" (no labels) or "OTOMESH2" (a label per
// vertex): magic, vertex and triangle counts, float32 vertices, uint32
// triangles, uint8 labels, every section 4-byte aligned.
function parseSurface(buf, colours) {
  const dv = new DataView(buf);
  const magic = String.fromCharCode(...new Uint8Array(buf, 0, Math.min(8, buf.byteLength)));
  if (magic !== "OTOMESH1" && magic !== "OTOMESH2") throw new Error("not a surface");
  const nv = dv.getUint32(8, true), ni = 3 * dv.getUint32(12, true);
  const pos = new Float32Array(buf, 16, nv * 3);
  const idx = new Uint32Array(buf, 16 + nv * 12, ni);
  const lab = magic === "OTOMESH2" ? new Uint8Array(buf, 16 + nv * 12 + ni * 4, nv) : new Uint8Array(nv);
  // LPS mm -> view space: x = patient left, y = superior, z = anterior
  // (seen from the front, like a coronal slice).
  const p = new Float32Array(nv * 3);
  let lo = [Infinity, Infinity, Infinity], hi = [-Infinity, -Infinity, -Infinity];
  for (let v = 0; v < nv; v++) {
    const x = pos[3 * v], y = pos[3 * v + 2], z = -pos[3 * v + 1];
    p[3 * v] = x; p[3 * v + 1] = y; p[3 * v + 2] = z;
    lo = [Math.min(lo[0], x), Math.min(lo[1], y), Math.min(lo[2], z)];
    hi = [Math.max(hi[0], x), Math.max(hi[1], y), Math.max(hi[2], z)];
  }
  const c = [(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, (lo[2] + hi[2]) / 2];
  let r = 1e-6;
  for (let v = 0; v < nv; v++) {
    p[3 * v] -= c[0]; p[3 * v + 1] -= c[1]; p[3 * v + 2] -= c[2];
    r = Math.max(r, Math.hypot(p[3 * v], p[3 * v + 1], p[3 * v + 2]));
  }
  const n = new Float32Array(nv * 3);
  for (let t = 0; t < ni; t += 3) {
    const a = idx[t] * 3, b = idx[t + 1] * 3, d = idx[t + 2] * 3;
    const ux = p[b] - p[a], uy = p[b + 1] - p[a + 1], uz = p[b + 2] - p[a + 2];
    const vx = p[d] - p[a], vy = p[d + 1] - p[a + 1], vz = p[d + 2] - p[a + 2];
    const nx = uy * vz - uz * vy, ny = uz * vx - ux * vz, nz = ux * vy - uy * vx;
    for (const k of [a, b, d]) { n[k] += nx; n[k + 1] += ny; n[k + 2] += nz; }
  }
  for (let v = 0; v < nv; v++) {
    const l = Math.hypot(n[3 * v], n[3 * v + 1], n[3 * v + 2]) || 1;
    n[3 * v] /= l; n[3 * v + 1] /= l; n[3 * v + 2] /= l;
  }
  const col = new Float32Array(nv * 3);
  for (let v = 0; v < nv; v++) col.set(labelColour(lab[v], colours), 3 * v);
  return { nv, ni, pos: p, idx, nrm: n, col, radius: r, size: [hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]] };
}

// rotation matrix (column-major 3x3) from yaw (around y) then pitch (around x)
function rotation(yaw, pitch) {
  const cy = Math.cos(yaw), sy = Math.sin(yaw), cp = Math.cos(pitch), sp = Math.sin(pitch);
  // R = Rx(pitch) * Ry(yaw)
  return [
    cy, sp * sy, -cp * sy,
    0, cp, sp,
    sy, -sp * cy, cp * cy,
  ];
}

class SurfaceView {
  constructor(canvas) {
    this.canvas = canvas;
    this.mesh = null;
    this.yaw = 0.5; this.pitch = 0.35; this.zoom = 1;
    this.message = "";
    this.gl = null;
    try {
      this.gl = canvas.getContext("webgl", { antialias: true, preserveDrawingBuffer: true });
    } catch (e) { this.gl = null; }
    if (this.gl) this.initGL(); else this.ctx = canvas.getContext("2d");
    this.mode = this.gl ? "WebGL" : "canvas";
    let drag = null;
    canvas.addEventListener("pointerdown", (e) => { drag = [e.clientX, e.clientY]; canvas.setPointerCapture(e.pointerId); });
    canvas.addEventListener("pointermove", (e) => {
      if (!drag) return;
      this.yaw += (e.clientX - drag[0]) * 0.01;
      this.pitch = Math.max(-1.55, Math.min(1.55, this.pitch + (e.clientY - drag[1]) * 0.01));
      drag = [e.clientX, e.clientY];
      this.draw();
    });
    canvas.addEventListener("pointerup", () => { drag = null; });
    canvas.addEventListener("wheel", (e) => {
      e.preventDefault();
      this.zoom = Math.max(0.3, Math.min(8, this.zoom * Math.exp(-e.deltaY * 0.001)));
      this.draw();
    }, { passive: false });
    new ResizeObserver(() => this.draw()).observe(canvas);
  }

  initGL() {
    const gl = this.gl;
    const vs = `attribute vec3 p; attribute vec3 n; attribute vec3 c; uniform mat3 R; uniform float s; uniform float aspect; uniform float dz;
      varying vec3 vc; varying vec3 vn;
      void main() { vec3 q = R * p * s; gl_Position = vec4(q.x / aspect, q.y, -q.z * dz, 1.0); vn = R * n; vc = c; }`;
    const fs = `precision mediump float; varying vec3 vc; varying vec3 vn;
      void main() { vec3 n = normalize(vn); float d = abs(n.z); float l = 0.25 + 0.75 * d; gl_FragColor = vec4(vc * l + vec3(0.15) * pow(d, 24.0), 1.0); }`;
    const sh = (type, src) => { const s = gl.createShader(type); gl.shaderSource(s, src); gl.compileShader(s); return s; };
    const prog = gl.createProgram();
    gl.attachShader(prog, sh(gl.VERTEX_SHADER, vs));
    gl.attachShader(prog, sh(gl.FRAGMENT_SHADER, fs));
    gl.linkProgram(prog);
    if (!gl.getProgramParameter(prog, gl.LINK_STATUS)) { this.gl = null; this.ctx = this.canvas.getContext("2d"); return; }
    this.prog = prog;
    this.uintIdx = !!gl.getExtension("OES_element_index_uint");
    this.buf = { p: gl.createBuffer(), n: gl.createBuffer(), c: gl.createBuffer(), i: gl.createBuffer() };
  }

  setMesh(buf, colours) {
    this.mesh = buf ? parseSurface(buf, colours) : null;
    this.message = this.mesh && this.mesh.ni === 0 ? "empty segmentation" : "";
    if (this.gl && this.mesh) {
      const gl = this.gl, m = this.mesh;
      gl.bindBuffer(gl.ARRAY_BUFFER, this.buf.p); gl.bufferData(gl.ARRAY_BUFFER, m.pos, gl.STATIC_DRAW);
      gl.bindBuffer(gl.ARRAY_BUFFER, this.buf.n); gl.bufferData(gl.ARRAY_BUFFER, m.nrm, gl.STATIC_DRAW);
      gl.bindBuffer(gl.ARRAY_BUFFER, this.buf.c); gl.bufferData(gl.ARRAY_BUFFER, m.col, gl.STATIC_DRAW);
      gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, this.buf.i);
      gl.bufferData(gl.ELEMENT_ARRAY_BUFFER, this.uintIdx ? m.idx : new Uint16Array(m.idx), gl.STATIC_DRAW);
    }
    this.draw();
  }

  setMessage(msg) { this.message = msg; this.mesh = null; this.draw(); }

  resize() {
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(this.canvas.clientWidth * dpr)), h = Math.max(1, Math.round(this.canvas.clientHeight * dpr));
    if (this.canvas.width !== w || this.canvas.height !== h) { this.canvas.width = w; this.canvas.height = h; }
    return [w, h];
  }

  draw() {
    const [w, h] = this.resize();
    const m = this.mesh;
    const R = rotation(this.yaw, this.pitch);
    const s = m ? 0.9 * this.zoom / m.radius : 1;
    if (this.gl) {
      const gl = this.gl;
      gl.viewport(0, 0, w, h);
      gl.clearColor(0, 0, 0, 1);
      gl.clear(gl.COLOR_BUFFER_BIT | gl.DEPTH_BUFFER_BIT);
      if (!m || m.ni === 0) { this.drawMessage(); return; }
      gl.enable(gl.DEPTH_TEST);
      gl.useProgram(this.prog);
      for (const [name, b] of [["p", this.buf.p], ["n", this.buf.n], ["c", this.buf.c]]) {
        const loc = gl.getAttribLocation(this.prog, name);
        gl.bindBuffer(gl.ARRAY_BUFFER, b);
        gl.enableVertexAttribArray(loc);
        gl.vertexAttribPointer(loc, 3, gl.FLOAT, false, 0, 0);
      }
      gl.uniformMatrix3fv(gl.getUniformLocation(this.prog, "R"), false, new Float32Array(R));
      gl.uniform1f(gl.getUniformLocation(this.prog, "s"), s);
      gl.uniform1f(gl.getUniformLocation(this.prog, "aspect"), w / h);
      gl.uniform1f(gl.getUniformLocation(this.prog, "dz"), 1 / (s * m.radius * 1.01));
      gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, this.buf.i);
      gl.drawElements(gl.TRIANGLES, m.ni, this.uintIdx ? gl.UNSIGNED_INT : gl.UNSIGNED_SHORT, 0);
      return;
    }
    const ctx = this.ctx;
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, w, h);
    if (!m || m.ni === 0) { this.drawMessage(); return; }
    // Project, back-face cull and sort triangles far to near.
    const half = Math.min(w, h) / 2, cx = w / 2, cy = h / 2;
    const sx = new Float32Array(m.nv), sy = new Float32Array(m.nv), sz = new Float32Array(m.nv);
    for (let v = 0; v < m.nv; v++) {
      const x = m.pos[3 * v], y = m.pos[3 * v + 1], z = m.pos[3 * v + 2];
      sx[v] = cx + half * s * (R[0] * x + R[3] * y + R[6] * z);
      sy[v] = cy - half * s * (R[1] * x + R[4] * y + R[7] * z);
      sz[v] = R[2] * x + R[5] * y + R[8] * z;
    }
    const tris = [];
    for (let t = 0; t < m.ni; t += 3) {
      const a = m.idx[t], b = m.idx[t + 1], c = m.idx[t + 2];
      const cross = (sx[b] - sx[a]) * (sy[c] - sy[a]) - (sy[b] - sy[a]) * (sx[c] - sx[a]);
      if (cross >= 0) continue; // facing away (screen y points down)
      tris.push(t);
    }
    const depth = (t) => sz[m.idx[t]] + sz[m.idx[t + 1]] + sz[m.idx[t + 2]];
    tris.sort((p, q) => depth(p) - depth(q));
    for (const t of tris) {
      const a = m.idx[t], b = m.idx[t + 1], c = m.idx[t + 2];
      let nz = 0;
      for (const v of [a, b, c]) nz += R[2] * m.nrm[3 * v] + R[5] * m.nrm[3 * v + 1] + R[8] * m.nrm[3 * v + 2];
      const l = 0.25 + 0.75 * Math.min(1, Math.abs(nz / 3));
      const col = m.col.subarray(3 * a, 3 * a + 3);
      ctx.fillStyle = "rgb(" + (255 * col[0] * l | 0) + "," + (255 * col[1] * l | 0) + "," + (255 * col[2] * l | 0) + ")";
      ctx.strokeStyle = ctx.fillStyle;
      ctx.beginPath();
      ctx.moveTo(sx[a], sy[a]); ctx.lineTo(sx[b], sy[b]); ctx.lineTo(sx[c], sy[c]);
      ctx.closePath();
      ctx.fill();
      ctx.stroke();
    }
  }

  drawMessage() {
    if (!this.message) return;
    if (this.gl) return; // the panel label shows it
    const ctx = this.ctx;
    ctx.fillStyle = "#9aa3ad";
    ctx.font = "14px sans-serif";
    ctx.fillText(this.message, 12, 40);
  }
}
window.SurfaceView = SurfaceView;
