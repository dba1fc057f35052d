// npm run publish: the old name of `npm run upload`, kept as an alias. It was one word away from
// `npm publish`, which sends the package to the public npm registry (this package is private, so
// npm refuses, but the mix-up is easy); the alias says the new name, then runs it with the same flags.
console.error('note: npm run publish is now npm run upload (npm publish is another command); running npm run upload.');
void import('./upload');
