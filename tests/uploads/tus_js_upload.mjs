// Uploads one file with tus-js-client (the Node build) and prints what happened as JSON.
//
//   node tus_js_upload.mjs '<json options>'
//
// Options: moduleDir (where node_modules/tus-js-client is installed), file, endpoint or
// uploadUrl, headers, metadata, chunkSize, abortAfterChunks (stop after that many PATCHes,
// as a dropped connection would), overridePatchMethod, uploadDataDuringCreation.
// Prints {ok, aborted, url, offset, error, status, requests: [{method, override, status,
// offset (sent), answered (Upload-Offset received), tusResumable}]}.

import { createReadStream } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'

const options = JSON.parse(process.argv[2])
const require = createRequire(path.join(options.moduleDir, 'package.json'))
const tus = require('tus-js-client')

const requests = []
let chunks = 0
let offset = null

function finish(result) {
  process.stdout.write(`${JSON.stringify({ requests, offset, ...result })}\n`)
  process.exit(0)
}

const upload = new tus.Upload(createReadStream(options.file), {
  endpoint: options.endpoint ?? null,
  uploadUrl: options.uploadUrl ?? null,
  headers: options.headers ?? {},
  metadata: options.metadata ?? {},
  chunkSize: options.chunkSize ?? Number.POSITIVE_INFINITY,
  overridePatchMethod: Boolean(options.overridePatchMethod),
  uploadDataDuringCreation: Boolean(options.uploadDataDuringCreation),
  retryDelays: null,
  storeFingerprintForResuming: false,
  onAfterResponse(req, res) {
    const answered = res.getHeader('Upload-Offset')
    requests.push({
      method: req.getMethod(),
      override: req.getHeader('X-HTTP-Method-Override') ?? null,
      status: res.getStatus(),
      offset: req.getHeader('Upload-Offset') ?? null,
      answered: answered == null ? null : Number(answered),
      tusResumable: res.getHeader('Tus-Resumable') ?? null,
    })
  },
  onChunkComplete(_size, accepted) {
    offset = accepted
    chunks += 1
    if (options.abortAfterChunks && chunks >= options.abortAfterChunks) {
      upload.abort().then(() => finish({ ok: false, aborted: true, url: upload.url }))
    }
  },
  onSuccess() {
    finish({ ok: true, aborted: false, url: upload.url })
  },
  onError(error) {
    const res = error.originalResponse
    finish({
      ok: false,
      aborted: false,
      url: upload.url,
      error: String(error.message ?? error),
      status: res ? res.getStatus() : null,
      body: res ? res.getBody() : null,
    })
  },
})

upload.start()
setTimeout(() => finish({ ok: false, aborted: false, error: 'timed out' }), 60_000).unref()
