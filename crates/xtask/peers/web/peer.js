// Shared by the page-bench peers (ort.html, tfjs.html): a 32×32 sample decoded by the
// browser and normalised as Lookout does, and softmax.
const MEAN = [0.4914, 0.4822, 0.4465];
const STD = [0.2023, 0.1994, 0.201];

// `layout`: 'chw' (ONNX, like Lookout) or 'hwc' (TF.js).
export async function input(url, layout) {
  const img = await createImageBitmap(await (await fetch(url)).blob());
  const c = new OffscreenCanvas(32, 32);
  const g = c.getContext('2d');
  g.drawImage(img, 0, 0, 32, 32);
  const px = g.getImageData(0, 0, 32, 32).data;
  const x = new Float32Array(3 * 32 * 32);
  for (let i = 0; i < 32 * 32; i++) {
    for (let ch = 0; ch < 3; ch++) {
      x[layout === 'hwc' ? i * 3 + ch : ch * 1024 + i] = (px[i * 4 + ch] / 255 - MEAN[ch]) / STD[ch];
    }
  }
  return x;
}

export function softmax(l) {
  const m = Math.max(...l);
  const e = l.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}
