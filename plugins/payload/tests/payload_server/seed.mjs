import { NOTE_COLLECTIONS } from './payload.config.mjs'

// Seeds a test server through Payload's Local API: API-key users, two projects, a story, and
// the tone, mood and audience records the first project links to (words when PAYLOAD_TEXT_NOTES).
export const NOTES = {
  tone: ['Melancholic', 'Wry'],
  mood: ['Brooding'],
  targetAudience: ['Adults', 'Fans of Maritime Folklore'],
}
export const TEXT_NOTES = { tone: 'melancholic', mood: 'quiet', targetAudience: 'adults' }

// names are unique, as in Novel Movie: a server restarted on the same data reuses its records
async function record(payload, collection, name) {
  const found = await payload.find({ collection, where: { name: { equals: name } } })
  const description = `${name}: a long description. `.repeat(20)
  return found.docs[0] ?? (await payload.create({ collection, data: { name, description } }))
}

async function noteIds(payload) {
  const ids = {}
  for (const [field, names] of Object.entries(NOTES)) {
    const collection = NOTE_COLLECTIONS[field]
    // a record no project links to comes first, so a linked record's id is not simply 1
    await record(payload, collection, `Unused ${field}`)
    ids[field] = []
    for (const name of names) ids[field].push((await record(payload, collection, name)).id)
  }
  return ids
}

export async function seed(payload, { apiKey, email = 'crew@novelcrew.test' }) {
  const textNotes = Boolean(process.env.PAYLOAD_TEXT_NOTES)
  const notes = textNotes ? TEXT_NOTES : await noteIds(payload)
  const existing = await payload.find({ collection: 'users', where: { email: { equals: email } } })
  const user =
    existing.docs[0] ??
    (await payload.create({
      collection: 'users',
      data: { email, password: `pw-${apiKey}`, name: 'novelcrew', enableAPIKey: true, apiKey },
    }))
  const project = await payload.create({
    collection: 'projects',
    data: {
      name: 'The Lighthouse Keeper',
      corePremise: 'A keeper who has not left her lighthouse in ten years finds a stranger.',
      ...notes,
    },
  })
  const story = await payload.create({
    collection: 'stories',
    data: {
      project: project.id,
      currentContent:
        'Maya tends the lamp on Gull Rock. One stormy night Tom washes ashore. ' +
        'She hides him from the harbour master, and the light goes dark for the first time.',
      currentStep: 3,
    },
  })
  await payload.update({ collection: 'projects', id: project.id, data: { story: story.id } })
  const bare = await payload.create({ collection: 'projects', data: { name: 'No Story Yet' } })
  // users with fewer rights, keyed `<apiKey>-<role>`: 'reader' may not update projects,
  // 'editor' may not update their workflowStatus
  for (const role of ['reader', 'editor']) {
    const roleEmail = `${role}@novelcrew.test`
    const found = await payload.find({ collection: 'users', where: { email: { equals: roleEmail } } })
    if (!found.docs.length) {
      await payload.create({
        collection: 'users',
        data: { email: roleEmail, password: `pw-${apiKey}`, name: role, role,
                enableAPIKey: true, apiKey: `${apiKey}-${role}` },
      })
    }
  }
  return { userId: user.id, projectId: project.id, storyId: story.id, bareProjectId: bare.id,
           notes: textNotes ? null : notes }
}
