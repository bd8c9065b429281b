// Easel's web page: a form for a job, its progress over Server-Sent Events with live previews, and the caller's
// gallery. Plain JavaScript, no library, everything from the gateway.
'use strict';

const $ = (id) => document.getElementById(id);
const KEY = 'easel.apiKey';
const SETTINGS = 'easel.jobSettings';
const state = { key: localStorage.getItem(KEY) || '', models: [], job: null, request: null, stream: null, poll: null,
  lastSeed: null, initImage: null, painted: false };

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {});
  if (state.key) headers.Authorization = 'Bearer ' + state.key;
  const response = await fetch(path, Object.assign({}, options, { headers }));
  if (response.status === 401) { askForKey('This gateway needs an API key.'); }
  if (!response.ok) throw new ApiError(response.status, await problemText(response));
  return response.status === 204 ? null : response.json();
}

/** A problem+json answer in words: each field error, else its detail. */
async function problemText(response) {
  try {
    const problem = await response.json();
    if (problem.errors && problem.errors.length) {
      return problem.errors.map((e) => e.field + ' ' + e.message).join('; ');
    }
    return problem.detail || problem.title || 'HTTP ' + response.status;
  } catch (e) {
    return 'HTTP ' + response.status;
  }
}

function askForKey(reason) {
  $('key-form').hidden = false;
  $('change-key').hidden = true;
  if (reason) showError(reason);
  $('api-key').focus();
}

function showError(message) {
  $('form-error').textContent = message;
  $('form-error').hidden = !message;
}

async function loadModels() {
  const select = $('model');
  const { models } = await api('/v1/models');
  state.models = models;
  select.innerHTML = '';
  for (const model of models) {
    const option = new Option(model.id + (model.workers.length ? '' : ' (no worker)'), model.id);
    option.selected = model.isDefault;
    select.add(option);
  }
  showAdapters();
  showHiresUpscalers();
  $('key-form').hidden = true;
  $('change-key').hidden = !state.key;
  showError('');
}

/**
 * What the chosen model takes: its LoRAs in the picker, its embeddings' trigger words as a hint, and only the
 * schedulers it can use (an SD3 model: its flow-matching Euler); the others are disabled, saying why.
 */
function showAdapters() {
  const model = (state.models || []).find((m) => m.id === $('model').value) || { loras: [], embeddings: [] };
  const takes = model.schedulers;
  for (const option of $('scheduler').options) {
    const usable = !option.value || !takes || takes.includes(option.value);
    option.disabled = !usable;
    option.title = usable ? '' : model.id + ' does not take this scheduler';
  }
  if ($('scheduler').selectedOptions[0]?.disabled) $('scheduler').value = '';
  const loras = model.loras || [];
  const picker = $('lora');
  picker.innerHTML = '';
  for (const name of loras) picker.add(new Option(name, name));
  $('adapters').hidden = loras.length === 0 && (model.embeddings || []).length === 0;
  $('lora-row').hidden = loras.length === 0;
  const words = model.embeddings || [];
  $('embeddings').textContent = words.length
    ? 'Embeddings (write the word in a prompt): ' + words.join(', ') : '';
}

/** The hires fix's upscalers: latent and Lanczos, then the image upscaler models the pool serves. */
function showHiresUpscalers() {
  const select = $('hires-upscaler');
  const chosen = select.value;
  select.innerHTML = '';
  select.add(new Option('Latent', 'latent'));
  select.add(new Option('Lanczos', 'lanczos'));
  for (const model of upscalerModels().filter((m) => m.kind === 'image-upscaler')) {
    select.add(new Option(model.id + ' (x' + model.upscaleFactor + ')', model.id));
  }
  select.value = [...select.options].some((o) => o.value === chosen) ? chosen : 'latent';
}

/** The served models that enlarge a picture: the x4 diffusion upscaler and ONNX image upscalers. */
function upscalerModels() {
  return (state.models || []).filter((m) => (m.kind === 'upscaler' || m.kind === 'image-upscaler')
    && m.workers.length);
}

/** Adds the picked LoRA to the prompt as AUTOMATIC1111 writes it: <lora:NAME:WEIGHT>. */
function addLora() {
  const name = $('lora').value;
  if (!name) return;
  const weight = Number($('lora-weight').value || 1);
  const prompt = $('prompt');
  prompt.value = (prompt.value.trim() ? prompt.value.trimEnd() + ', ' : '') + '<lora:' + name + ':' + weight + '>';
  prompt.focus();
}

// ---- the request ------------------------------------------------------------------------------------------------

function readForm() {
  const request = { prompt: $('prompt').value, negativePrompt: $('negative').value,
    steps: Number($('steps').value), guidanceScale: Number($('guidance').value), numImages: Number($('images').value),
    preview: true, previewEvery: 1 };
  if ($('model').value) request.model = $('model').value;
  if ($('scheduler').value) request.scheduler = $('scheduler').value;
  if ($('size').value) {
    const [w, h] = $('size').value.split('x').map(Number);
    request.width = w;
    request.height = h;
  }
  if ($('seed').value !== '') request.seed = Number($('seed').value);
  if ($('hires-on').checked && !state.initImage) {
    request.hires = { scale: Number($('hires-scale').value), upscaler: $('hires-upscaler').value,
      denoise: Number($('hires-denoise').value) };
    if ($('hires-steps').value !== '') request.hires.steps = Number($('hires-steps').value);
  }
  if (state.initImage) {
    request.initImage = state.initImage.base64;
    request.strength = Number($('strength').value);
    if (state.painted) request.mask = maskBase64();
  }
  return request;
}

function fillForm(request, seed) {
  $('prompt').value = request.prompt || '';
  $('negative').value = request.negativePrompt || '';
  $('steps').value = request.steps;
  $('guidance').value = request.guidanceScale;
  $('images').value = request.numImages;
  $('scheduler').value = request.scheduler || '';
  $('size').value = request.width ? request.width + 'x' + request.height : '';
  if (request.model) $('model').value = request.model;
  $('seed').value = seed != null ? seed : '';
  $('prompt').focus();
}

async function submit(event) {
  event.preventDefault();
  showError('');
  if (!$('prompt').value.trim()) { showError('Write a prompt first.'); $('prompt').focus(); return; }
  const request = readForm();
  try {
    const accepted = await api('/v1/jobs', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(request) });
    state.request = request;
    state.lastSeed = accepted.seed;
    const saved = JSON.parse(localStorage.getItem(SETTINGS) || '{}');
    saved[accepted.id] = Object.assign({}, request, { initImage: undefined, mask: undefined });
    localStorage.setItem(SETTINGS, JSON.stringify(saved));
    follow(accepted.id, request.numImages);
    refreshGallery();
  } catch (e) {
    showError(e.message);
  }
}

// ---- following a job --------------------------------------------------------------------------------------------

function follow(id, numImages) {
  stopFollowing();
  state.job = { id, numImages: numImages || 1, images: [] };
  $('job').hidden = false;
  $('job').dataset.job = id;
  $('results').innerHTML = '';
  $('result-actions').hidden = true;
  $('live-preview').hidden = true;
  $('cancel').hidden = false;
  $('job-progress').value = 0;
  setStatus('queued', 'Waiting for a worker...');
  pollQueue(id);
  state.stream = streamEvents(id);
}

function stopFollowing() {
  if (state.stream) state.stream.abort();
  if (state.poll) clearInterval(state.poll);
  state.stream = null;
  state.poll = null;
}

/** While the job waits, its place in the queue from GET /v1/jobs/{id}. */
function pollQueue(id) {
  state.poll = setInterval(async () => {
    try {
      const job = await api('/v1/jobs/' + id);
      if (job.status !== 'queued') { clearInterval(state.poll); return; }
      const eta = job.startEtaMillis != null ? ', starts in about ' + Math.ceil(job.startEtaMillis / 1000) + ' s' : '';
      setStatus('queued', 'Queued' + (job.queuePosition != null ? ': position ' + job.queuePosition : '') + eta);
    } catch (e) { /* the stream reports what matters */ }
  }, 1000);
}

/** The job's SSE stream read with fetch (EventSource cannot send the key), resumed with Last-Event-ID. */
function streamEvents(id) {
  const controller = new AbortController();
  (async () => {
    let lastEventId = null;
    for (let attempt = 0; attempt < 20 && !controller.signal.aborted; attempt++) {
      try {
        const headers = { Accept: 'text/event-stream' };
        if (state.key) headers.Authorization = 'Bearer ' + state.key;
        if (lastEventId) headers['Last-Event-ID'] = lastEventId;
        const response = await fetch('/v1/jobs/' + id + '/events', { headers, signal: controller.signal });
        if (!response.ok) { setStatus('failed', await problemText(response)); return; }
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const message = { event: 'message', data: '' };
            for (const line of block.split('\n')) {
              if (line.startsWith('id:')) lastEventId = line.slice(3).trim();
              else if (line.startsWith('event:')) message.event = line.slice(6).trim();
              else if (line.startsWith('data:')) message.data += line.slice(5).trim();
            }
            if (message.data && onEvent(message.event, JSON.parse(message.data))) return;
          }
        }
      } catch (e) {
        if (controller.signal.aborted) return;
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  })();
  return controller;
}

/** Shows one event; true when the job has ended. */
function onEvent(name, data) {
  switch (name) {
    case 'loading':
      clearInterval(state.poll);
      setStatus('running', 'Loading ' + data.model + ' on ' + data.workerId
        + (data.estimatedMillis != null ? ' (about ' + Math.max(1, Math.round(data.estimatedMillis / 1000)) + ' s)' : ''));
      return false;
    case 'started':
      clearInterval(state.poll);
      setStatus('running', 'Started on ' + data.workerId);
      return false;
    case 'requeued':
      setStatus('queued', 'Back in the queue (' + data.reason + ')');
      return false;
    case 'progress': {
      const n = state.job.numImages;
      const done = (data.imageIndex * data.total + data.step) / (n * data.total);
      $('job-progress').value = done;
      setStatus('running', 'Image ' + (data.imageIndex + 1) + ' of ' + n + ': step ' + data.step + ' of ' + data.total
        + (data.pass ? ' (hires pass ' + data.pass + ')' : '') + ', about ' + Math.ceil(data.etaMillis / 1000)
        + ' s left');
      if (data.preview) {
        $('live-preview').src = 'data:image/png;base64,' + data.preview;
        $('live-preview').hidden = false;
      }
      return false;
    }
    case 'completed':
      $('job-progress').value = 1;
      // The job's view carries presigned links to the images (the event names the stored objects).
      api('/v1/jobs/' + state.job.id).then((job) => {
        showImages(job.images);
        setStatus('completed', 'Done');
      }).catch((e) => setStatus('failed', e.message));
      endJob();
      return true;
    case 'failed':
      setStatus('failed', 'Failed: ' + data.message);
      endJob();
      return true;
    case 'cancelled':
      setStatus('cancelled', 'Cancelled' + (data.reason ? ': ' + data.reason : ''));
      endJob();
      return true;
    default:
      return false;
  }
}

function endJob() {
  stopFollowing();
  $('cancel').hidden = true;
  $('result-actions').hidden = !state.request;
  refreshGallery();
}

function setStatus(status, text) {
  $('job-status').textContent = text;
  $('job-status').dataset.status = status;
}

function showImages(images) {
  $('live-preview').hidden = true;
  const results = $('results');
  results.innerHTML = '';
  for (const image of images) {
    const figure = document.createElement('figure');
    const img = document.createElement('img');
    img.src = image.url;
    img.alt = 'image ' + (image.index + 1);
    img.className = 'result';
    const caption = document.createElement('figcaption');
    caption.textContent = image.width + ' x ' + image.height + ', seed ' + image.seed + ' ';
    const download = document.createElement('a');
    download.href = image.url;
    download.download = 'easel-' + image.seed + '.png';
    download.textContent = 'Download';
    const asInit = document.createElement('button');
    asInit.type = 'button';
    asInit.className = 'small';
    asInit.textContent = 'Use as init image';
    asInit.addEventListener('click', () => useAsInit(image.url));
    caption.append(download, asInit);
    for (const upscaler of upscalerModels()) {
      const factor = upscaler.upscaleFactor;
      if (image.width * factor > 2048 || image.height * factor > 2048) continue;
      const upscale = document.createElement('button');
      upscale.type = 'button';
      upscale.className = 'small';
      upscale.textContent = 'Upscale x' + factor + (upscaler.kind === 'image-upscaler' ? ' (' + upscaler.id + ')' : '');
      upscale.title = 'enlarge this picture ' + factor + ' times with ' + upscaler.id;
      upscale.addEventListener('click', () => upscaleImage(image.url, upscaler));
      caption.append(upscale);
    }
    figure.append(img, caption);
    results.append(figure);
  }
  if (images.length) state.lastSeed = images[0].seed;
}

async function cancel() {
  if (!state.job) return;
  try {
    await api('/v1/jobs/' + state.job.id, { method: 'DELETE' });
    setStatus('cancelling', 'Cancelling...');
  } catch (e) {
    setStatus('failed', e.message);
  }
}

// ---- init image and mask ----------------------------------------------------------------------------------------

/** A blob's bytes as base64, as requests carry pictures. */
function toBase64(blob) {
  return new Promise((resolve) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(',')[1]);
    reader.readAsDataURL(blob);
  });
}

async function setInitImage(blob) {
  const base64 = await toBase64(blob);
  const img = $('init-preview');
  img.onload = () => {
    const canvas = $('mask-canvas');
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    clearMask();
  };
  img.src = 'data:' + (blob.type || 'image/png') + ';base64,' + base64;
  state.initImage = { base64 };
  $('init-area').hidden = false;
  $('init-panel').open = true;
}

/**
 * Submits an upscaler job for a finished picture: the x4 upscaler with the form's prompt (it is prompt-guided), an
 * image upscaler with the picture alone.
 */
async function upscaleImage(url, upscaler) {
  try {
    const response = await fetch(url, { cache: 'no-store' });
    if (!response.ok) throw new Error('HTTP ' + response.status);
    const base64 = await toBase64(await response.blob());
    const request = upscaler.kind === 'image-upscaler'
      ? { model: upscaler.id, initImage: base64 }
      : { prompt: $('prompt').value || 'a detailed picture', negativePrompt: $('negative').value,
        model: upscaler.id, initImage: base64, noiseLevel: 20, steps: 20, guidanceScale: 9, numImages: 1,
        preview: true, previewEvery: 1 };
    const accepted = await api('/v1/jobs', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(request) });
    state.request = null;
    follow(accepted.id, 1);
    refreshGallery();
  } catch (e) {
    showError('The picture could not be upscaled: ' + e.message);
  }
}

async function useAsInit(url) {
  try {
    // no-store: the <img> showing it was fetched without CORS, and that cached copy must not answer this read.
    const response = await fetch(url, { cache: 'no-store' });
    if (!response.ok) throw new Error('HTTP ' + response.status);
    await setInitImage(await response.blob());
    $('prompt').focus();
  } catch (e) {
    showError('The image could not be loaded as an init image: ' + e.message);
  }
}

function clearMask() {
  const canvas = $('mask-canvas');
  canvas.getContext('2d').clearRect(0, 0, canvas.width, canvas.height);
  state.painted = false;
}

function paintAt(event) {
  const canvas = $('mask-canvas');
  const box = canvas.getBoundingClientRect();
  const scale = canvas.width / box.width;
  const context = canvas.getContext('2d');
  context.fillStyle = '#fff';
  context.beginPath();
  context.arc((event.clientX - box.left) * scale, (event.clientY - box.top) * scale,
    Number($('brush').value) * scale / 2, 0, Math.PI * 2);
  context.fill();
  state.painted = true;
}

/** The mask as the API takes it: black where kept, white where painted. */
function maskBase64() {
  const painted = $('mask-canvas');
  const mask = document.createElement('canvas');
  mask.width = painted.width;
  mask.height = painted.height;
  const context = mask.getContext('2d');
  context.fillStyle = '#000';
  context.fillRect(0, 0, mask.width, mask.height);
  context.drawImage(painted, 0, 0);
  return mask.toDataURL('image/png').split(',')[1];
}

// ---- gallery ----------------------------------------------------------------------------------------------------

async function refreshGallery() {
  let page;
  try {
    page = await api('/v1/jobs?limit=24');
  } catch (e) {
    return;
  }
  const gallery = $('gallery');
  gallery.innerHTML = '';
  for (const job of page.jobs) {
    const tile = document.createElement('div');
    tile.className = 'tile ' + job.status;
    tile.dataset.job = job.id;
    if (job.images && job.images.length) {
      const img = document.createElement('img');
      img.src = job.images[0].url;
      img.alt = 'job ' + job.id;
      tile.append(img);
    }
    const status = document.createElement('div');
    status.className = 'state';
    status.textContent = job.status + (job.images && job.images.length > 1 ? ' (' + job.images.length + ' images)' : '');
    tile.append(status);
    if (job.status === 'failed' && job.error) {
      const why = document.createElement('p');
      why.textContent = job.error.message;
      tile.append(why);
    }
    const when = document.createElement('p');
    when.textContent = job.submittedAtMillis ? new Date(job.submittedAtMillis).toLocaleString() : '';
    tile.append(when);
    tile.addEventListener('click', () => showJob(job));
    gallery.append(tile);
  }
}

function showJob(job) {
  const saved = JSON.parse(localStorage.getItem(SETTINGS) || '{}')[job.id];
  if (job.status === 'queued' || job.status === 'loading' || job.status === 'running') {
    state.request = saved || null;
    follow(job.id, saved ? saved.numImages : 1);
    return;
  }
  stopFollowing();
  state.job = { id: job.id, numImages: (job.images || []).length };
  state.request = saved || null;
  $('job').hidden = false;
  $('job').dataset.job = job.id;
  $('cancel').hidden = true;
  $('job-progress').value = job.status === 'completed' ? 1 : 0;
  setStatus(job.status, job.status === 'failed' && job.error ? 'Failed: ' + job.error.message
    : job.status.charAt(0).toUpperCase() + job.status.slice(1));
  showImages(job.images || []);
  $('result-actions').hidden = !saved;
  if (job.seed != null) state.lastSeed = job.seed;
}

// ---- wiring -----------------------------------------------------------------------------------------------------

window.addEventListener('DOMContentLoaded', () => {
  $('job-form').addEventListener('submit', submit);
  $('model').addEventListener('change', showAdapters);
  $('add-lora').addEventListener('click', addLora);
  for (const id of ['prompt', 'negative']) {
    $(id).addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey) { event.preventDefault(); $('job-form').requestSubmit(); }
    });
  }
  $('key-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    state.key = $('api-key').value.trim();
    localStorage.setItem(KEY, state.key);
    try { await loadModels(); refreshGallery(); } catch (e) { showError(e.message); }
  });
  $('change-key').addEventListener('click', () => askForKey(''));
  $('cancel').addEventListener('click', cancel);
  $('refresh').addEventListener('click', refreshGallery);
  $('seed-random').addEventListener('click', () => { $('seed').value = ''; });
  $('seed-reuse').addEventListener('click', () => { if (state.lastSeed != null) $('seed').value = state.lastSeed; });
  $('reuse').addEventListener('click', () => { if (state.request) fillForm(state.request, state.lastSeed); });
  $('init-file').addEventListener('change', (event) => { if (event.target.files[0]) setInitImage(event.target.files[0]); });
  const drop = $('drop');
  drop.addEventListener('dragover', (event) => { event.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (event) => {
    event.preventDefault();
    drop.classList.remove('over');
    if (event.dataTransfer.files[0]) setInitImage(event.dataTransfer.files[0]);
  });
  const canvas = $('mask-canvas');
  let painting = false;
  canvas.addEventListener('pointerdown', (event) => { painting = true; paintAt(event); });
  canvas.addEventListener('pointermove', (event) => { if (painting) paintAt(event); });
  window.addEventListener('pointerup', () => { painting = false; });
  $('clear-mask').addEventListener('click', clearMask);
  $('clear-init').addEventListener('click', () => {
    state.initImage = null;
    state.painted = false;
    $('init-area').hidden = true;
    $('init-file').value = '';
  });
  loadModels().then(refreshGallery).catch((e) => { if (e.status !== 401) showError(e.message); });
});
