// Seeds a test server through Payload's Local API: API-key users, two projects, a story.
export async function seed(payload, { apiKey, email = 'crew@novelcrew.test' }) {
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
      tone: 'melancholic',
      mood: 'quiet',
      targetAudience: 'adults',
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
  return { userId: user.id, projectId: project.id, storyId: story.id, bareProjectId: bare.id }
}
