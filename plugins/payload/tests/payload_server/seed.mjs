import { NOTE_COLLECTIONS } from './payload.config.mjs'

// Seeds a test server through Payload's Local API: API-key users, two projects, a story, and
// the tone, mood and audience records the first project links to (words when PAYLOAD_TEXT_NOTES),
// with its title, descriptions, runtime, movie style, format and genres. The second project
// ('No Story Yet') has a name only, as a project made before those fields existed.
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

// Novel Movie's configuration records: the seeded project's look, format and genres, each
// after a record nothing links to (so ids and link order differ from creation order)
export const STYLES = [
  { name: 'Cinematic Realism',
    description: 'Naturalistic light, handheld intimacy, true-to-life colour.' },
  { name: 'Painterly Noir',
    description: 'Hand-painted film noir: deep ink shadows, rain-slick surfaces lit by a ' +
      'single practical, muted teal and amber, visible brush texture.' },
]
export const FORMATS = [
  { name: 'Feature Film', description: 'A full-length film for cinema release.',
    suggestedDuration: 90 },
  { name: 'Short Film', description: 'A self-contained film under forty minutes.',
    suggestedDuration: 15 },
]
export const GENRES = ['Comedy', 'Mystery', 'Drama']
export const LOOKS = {
  movieStyle: 'Painterly Noir',
  movieFormat: 'Short Film',
  primaryGenres: ['Drama', 'Mystery'], // in order of importance, not of creation
}
export const PROJECT_TEXT = {
  projectTitle: 'The Keeper of Gull Rock',
  shortDescription: 'A lighthouse keeper hides a shipwrecked stranger from the harbour master.',
  longDescription:
    'Maya has kept the Gull Rock light alone for ten years. When a storm throws Tom onto ' +
    'her rocks she hides him, and for the first time the light goes dark.',
  durationUnit: 12,
}

async function named(payload, collection, data) {
  const found = await payload.find({ collection, where: { name: { equals: data.name } } })
  return found.docs[0] ?? (await payload.create({ collection, data }))
}

async function lookIds(payload) {
  const ids = {}
  for (const style of STYLES) ids[style.name] = (await named(payload, 'movie-styles', style)).id
  for (const format of FORMATS) {
    ids[format.name] = (await named(payload, 'movie-formats', format)).id
  }
  for (const name of GENRES) {
    ids[name] = (await named(payload, 'genres', { name, description: `${name}.` })).id
  }
  return {
    movieStyle: ids[LOOKS.movieStyle],
    movieFormat: ids[LOOKS.movieFormat],
    primaryGenres: LOOKS.primaryGenres.map((name) => ids[name]),
  }
}

export async function seed(payload, { apiKey, email = 'crew@novelcrew.test' }) {
  const textNotes = Boolean(process.env.PAYLOAD_TEXT_NOTES)
  const notes = textNotes ? TEXT_NOTES : await noteIds(payload)
  const looks = await lookIds(payload)
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
      ...looks,
      ...PROJECT_TEXT,
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
           notes: textNotes ? null : notes, looks }
}
