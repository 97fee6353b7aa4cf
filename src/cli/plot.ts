/**
 * @file Hand-written SVG line charts for training curves (no dependency): one panel per series
 * group, axes with rounded ticks, a legend, and the final value printed beside each line.
 */

export interface Series { name: string; values: number[]; color: string }
export interface Panel { title: string; yLabel: string; series: Series[] }

const W = 480, H = 300, PAD = { l: 56, r: 16, t: 48, b: 44 }

function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) { hi = lo + 1 }
  const raw = (hi - lo) / count
  const mag = 10 ** Math.floor(Math.log10(raw))
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag
  const ticks: number[] = []
  for (let t = Math.ceil(lo / step) * step; t <= hi + 1e-12; t += step) ticks.push(Number(t.toPrecision(12)))
  return ticks
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!)
}

function panelSvg(p: Panel, x0: number): string {
  const all = p.series.flatMap((s) => s.values).filter(Number.isFinite)
  const lo = Math.min(...all, 0), hi = Math.max(...all, 1e-9)
  const ticks = niceTicks(lo, hi)
  const yMin = Math.min(lo, ticks[0]), yMax = Math.max(hi, ticks[ticks.length - 1])
  const n = Math.max(...p.series.map((s) => s.values.length))
  const px = (i: number): number => x0 + PAD.l + ((W - PAD.l - PAD.r) * i) / Math.max(1, n - 1)
  const py = (v: number): number => PAD.t + (H - PAD.t - PAD.b) * (1 - (v - yMin) / (yMax - yMin))
  const parts = [`<text x="${x0 + W / 2}" y="20" text-anchor="middle" font-weight="bold">${escapeXml(p.title)}</text>`]
  for (const t of ticks) {
    parts.push(`<line x1="${x0 + PAD.l}" x2="${x0 + W - PAD.r}" y1="${py(t)}" y2="${py(t)}" stroke="#ddd"/>`)
    parts.push(`<text x="${x0 + PAD.l - 6}" y="${py(t) + 4}" text-anchor="end">${t}</text>`)
  }
  for (const t of niceTicks(1, Math.max(2, n), Math.min(8, Math.max(1, n - 1))).filter((t) => Number.isInteger(t) && t <= n)) {
    parts.push(`<text x="${px(t - 1)}" y="${H - PAD.b + 16}" text-anchor="middle">${t}</text>`)
  }
  parts.push(`<text x="${x0 + W / 2}" y="${H - 6}" text-anchor="middle">epoch</text>`)
  parts.push(`<text transform="translate(${x0 + 14},${H / 2}) rotate(-90)" text-anchor="middle">${escapeXml(p.yLabel)}</text>`)
  p.series.forEach((s, k) => {
    const pts = s.values.map((v, i) => `${px(i).toFixed(1)},${py(v).toFixed(1)}`).join(' ')
    parts.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${pts}"/>`)
    const last = s.values[s.values.length - 1]
    // Legend in the top margin, one entry per series, with the final value.
    parts.push(`<text x="${x0 + PAD.l + 150 * k}" y="38" fill="${s.color}">— ${escapeXml(s.name)}: ${last?.toFixed(4)}</text>`)
  })
  return parts.join('\n')
}

/** An SVG document with the panels side by side. */
export function lineChartsSvg(panels: Panel[]): string {
  const width = W * panels.length
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${H}" viewBox="0 0 ${width} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${H}" fill="white"/>`,
    ...panels.map((p, i) => panelSvg(p, i * W)),
    '</svg>',
  ].join('\n')
}
