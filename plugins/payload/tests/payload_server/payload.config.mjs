// A Payload 3 config modelled on Novel Movie's collections (users, projects, stories, and the
// records a project's tone, mood, audience, genres, movie style and format link to), for
// novelcrew-payload's tests. Plain ESM so Node 20 runs it without a build step; no richText
// field, so no editor (and no Next.js) is needed.
import path from 'node:path'

import { sqliteAdapter } from '@payloadcms/db-sqlite'
import { buildConfig } from 'payload'

// Novel Movie's own enum values; novelcrew_payload/enums.py must send only these.
export const PROJECT_STATUSES = [
  'draft',
  'story-in-progress',
  'story-completed',
  'in-production',
  'completed',
  'archived',
]
export const WORKFLOW_STEPS = [
  'project-setup',
  'story-generation',
  'character-development',
  'scene-planning',
  'media-generation',
  'post-production',
  'final-review',
  'completed',
]
export const STORY_STATUSES = ['in-progress', 'completed']

const options = (values) => values.map((value) => ({ label: value, value }))

const dataDir = process.env.PAYLOAD_DATA_DIR
if (!dataDir) throw new Error('PAYLOAD_DATA_DIR must name a writable directory')
const secret = process.env.PAYLOAD_SECRET
if (!secret) throw new Error('PAYLOAD_SECRET must be set')

// What a user may do to projects, for the health check's tests: 'crew' everything, 'reader'
// read only, 'editor' update projects but not their workflowStatus (a field-level rule).
export const ROLES = ['crew', 'reader', 'editor']

const Users = {
  slug: 'users',
  auth: { useAPIKey: true },
  admin: { useAsTitle: 'email' },
  fields: [
    { name: 'name', type: 'text' },
    { name: 'role', type: 'select', options: options(ROLES), defaultValue: 'crew' },
  ],
}

const loggedIn = ({ req: { user } }) => Boolean(user)

// Novel Movie links a project's tone, mood and target audience to records of small collections
// (relationship, hasMany), each record with a `name` and a long description. Other setups may
// keep them as plain text: PAYLOAD_TEXT_NOTES=1 makes them text fields.
export const NOTE_COLLECTIONS = {
  tone: 'tone-options',
  mood: 'mood-descriptors',
  targetAudience: 'audience-demographics',
}
const textNotes = Boolean(process.env.PAYLOAD_TEXT_NOTES)
const note = (name) =>
  textNotes
    ? { name, type: 'text' }
    : { name, type: 'relationship', relationTo: NOTE_COLLECTIONS[name], hasMany: true }
// A retired record (isActive false, as Novel Movie's have) is hidden from readers: a project
// still linking to it gets its id even at depth 1 ("ids are visible regardless of access").
const NoteCollections = Object.values(NOTE_COLLECTIONS).map((slug) => ({
  slug,
  admin: { useAsTitle: 'name' },
  access: { read: () => ({ isActive: { not_equals: false } }) },
  fields: [
    { name: 'name', type: 'text', required: true, unique: true },
    { name: 'description', type: 'textarea' },
    { name: 'isActive', type: 'checkbox', defaultValue: true },
  ],
}))

// A project's look, format and genres link to records of Novel Movie's configuration
// collections: a movie style's description is what the storyboard's prompts need, a format's
// suggestedDuration (minutes) the runtime the director plans towards. Always relationships (as in
// Novel Movie); PAYLOAD_TEXT_NOTES changes only tone, mood and audience.
const slugFromName = ({ value, data }) =>
  value || (data?.name ? data.name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/(^-|-$)/g, '') : value)
const slugField = { name: 'slug', type: 'text', required: true, unique: true,
                    hooks: { beforeValidate: [slugFromName] } }
// Novel Movie reads these publicly; here a retired format or genre (isActive false) is hidden
// from readers, as the note records are, so a project linking to one gets its id at depth 1
const activeOnly = { read: () => ({ isActive: { not_equals: false } }) }
const MovieStyles = {
  slug: 'movie-styles',
  admin: { useAsTitle: 'name' },
  fields: [
    { name: 'name', type: 'text', required: true },
    slugField,
    { name: 'description', type: 'textarea' },
  ],
}
const MovieFormats = {
  slug: 'movie-formats',
  admin: { useAsTitle: 'name' },
  access: activeOnly,
  fields: [
    { name: 'name', type: 'text', required: true },
    slugField,
    { name: 'description', type: 'textarea' },
    { name: 'suggestedDuration', type: 'number', required: true, defaultValue: 5 },
    { name: 'isActive', type: 'checkbox', required: true, defaultValue: true },
  ],
}
const Genres = {
  slug: 'genres',
  admin: { useAsTitle: 'name' },
  access: activeOnly,
  fields: [
    { name: 'name', type: 'text', required: true, unique: true },
    slugField,
    { name: 'description', type: 'textarea' },
    { name: 'isActive', type: 'checkbox', defaultValue: true },
  ],
}

// Novel Movie requires movieFormat, movieStyle and durationUnit; here they are optional, so a
// project made with a name alone (as the tests and older projects have them) stays valid.
const Projects = {
  slug: 'projects',
  admin: { useAsTitle: 'name' },
  access: {
    // PAYLOAD_PUBLIC_READ=1: anyone may read projects, as in Novel Movie (`read: () => true`)
    read: process.env.PAYLOAD_PUBLIC_READ ? () => true : loggedIn,
    update: ({ req: { user } }) => Boolean(user) && user.role !== 'reader',
  },
  fields: [
    { name: 'name', type: 'text', required: true },
    { name: 'projectTitle', type: 'text' },
    { name: 'shortDescription', type: 'textarea' },
    { name: 'longDescription', type: 'textarea' },
    { name: 'movieFormat', type: 'relationship', relationTo: 'movie-formats' },
    { name: 'movieStyle', type: 'relationship', relationTo: 'movie-styles' },
    { name: 'durationUnit', type: 'number', min: 0 },
    { name: 'primaryGenres', type: 'relationship', relationTo: 'genres', hasMany: true, maxRows: 3 },
    { name: 'status', type: 'select', options: options(PROJECT_STATUSES), defaultValue: 'draft' },
    { name: 'corePremise', type: 'textarea' },
    note('tone'),
    note('mood'),
    note('targetAudience'),
    { name: 'story', type: 'relationship', relationTo: 'stories' },
    {
      name: 'workflowStatus',
      type: 'group',
      access: { update: ({ req: { user } }) => user?.role !== 'editor' },
      fields: [
        {
          name: 'currentStep',
          type: 'select',
          options: options(WORKFLOW_STEPS),
          defaultValue: 'project-setup',
        },
        {
          name: 'completedSteps',
          type: 'array',
          fields: [
            { name: 'step', type: 'select', options: options(WORKFLOW_STEPS), required: true },
            { name: 'completedAt', type: 'date' },
          ],
        },
        { name: 'lastActivity', type: 'date' },
      ],
    },
    {
      name: 'generatedContent',
      type: 'group',
      fields: [
        {
          name: 'scenes',
          type: 'array',
          fields: [
            { name: 'sceneNumber', type: 'number', required: true, min: 1 },
            { name: 'heading', type: 'text' },
            { name: 'description', type: 'textarea' },
            { name: 'location', type: 'text' },
            { name: 'estimatedDuration', type: 'number', min: 0 },
          ],
        },
        // The storyboard crew's visual bible and per-shot prompts for media generation. Novel
        // Movie's schema has no such field yet; a json field in this group is where it fits
        // (one nested document, read whole by the media-generation step).
        // PAYLOAD_WITHOUT_STORYBOARD=1 leaves it out, as a deployment without it would be.
        ...(process.env.PAYLOAD_WITHOUT_STORYBOARD ? [] : [{ name: 'storyboard', type: 'json' }]),
      ],
    },
  ],
}

const Stories = {
  slug: 'stories',
  fields: [
    { name: 'project', type: 'relationship', relationTo: 'projects', required: true, unique: true },
    { name: 'currentContent', type: 'textarea' },
    { name: 'currentStep', type: 'number', min: 1, max: 12, defaultValue: 1 },
    { name: 'status', type: 'select', options: options(STORY_STATUSES), defaultValue: 'in-progress' },
  ],
}

export default buildConfig({
  secret,
  collections: [Users, Projects, Stories, MovieStyles, MovieFormats, Genres,
                ...(textNotes ? [] : NoteCollections)],
  db: sqliteAdapter({ client: { url: `file:${path.join(dataDir, 'payload.db')}` } }),
  telemetry: false,
  typescript: { autoGenerate: false },
  graphQL: { disable: true },
  logger: { options: { level: process.env.PAYLOAD_LOG_LEVEL || 'warn' } },
})
