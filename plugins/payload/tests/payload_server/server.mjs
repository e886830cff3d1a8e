// Serves Payload's REST API at /api/* with plain node:http (no Next.js).
// Env: PAYLOAD_DATA_DIR, PAYLOAD_SECRET, PORT (0 = a free port), HOST (default 127.0.0.1),
// PAYLOAD_SEED_API_KEY (seed an API-key user and sample data, printed as `SEEDED <json>`),
// EXIT_WITH_STDIN=1 (exit when stdin closes: a test runner that dies takes the server along).
// Prints `READY <port>` once it accepts requests.
import http from 'node:http'
import { Readable } from 'node:stream'

import { getPayload, handleEndpoints } from 'payload'

import config from './payload.config.mjs'
import { seed } from './seed.mjs'

const host = process.env.HOST || '127.0.0.1'
const port = Number(process.env.PORT || 0)

const payload = await getPayload({ config })

if (process.env.PAYLOAD_SEED_API_KEY) {
  const ids = await seed(payload, { apiKey: process.env.PAYLOAD_SEED_API_KEY })
  process.stdout.write(`SEEDED ${JSON.stringify(ids)}\n`)
}

async function toFetchRequest(req) {
  const url = new URL(req.url, `http://${req.headers.host || `${host}:${port}`}`)
  const headers = new Headers()
  for (const [name, value] of Object.entries(req.headers)) {
    if (Array.isArray(value)) value.forEach((v) => headers.append(name, v))
    else if (value !== undefined) headers.set(name, value)
  }
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD'
  return new Request(url, {
    method: req.method,
    headers,
    body: hasBody ? Readable.toWeb(req) : undefined,
    duplex: hasBody ? 'half' : undefined,
  })
}

const server = http.createServer(async (req, res) => {
  try {
    if (!req.url.startsWith('/api/') && req.url !== '/api') {
      res.writeHead(404, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ message: 'not found' }))
      return
    }
    const response = await handleEndpoints({ config, request: await toFetchRequest(req) })
    const headers = {}
    response.headers.forEach((value, name) => {
      headers[name] = value
    })
    res.writeHead(response.status, headers)
    res.end(Buffer.from(await response.arrayBuffer()))
  } catch (err) {
    res.writeHead(500, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ errors: [{ message: String(err?.message || err) }] }))
  }
})

server.listen(port, host, () => {
  process.stdout.write(`READY ${server.address().port}\n`)
})

const stop = () => {
  server.close(() => process.exit(0))
  server.closeAllConnections()
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
if (process.env.EXIT_WITH_STDIN === '1') {
  process.stdin.on('close', () => process.exit(0))
  process.stdin.on('end', () => process.exit(0))
  process.stdin.resume()
}
