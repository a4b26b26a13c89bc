// Stands in for a root command whose part of CloudSeed is not built yet, so that the command
// says so plainly instead of pretending to work.
const [command = 'this command', part = 'its part of CloudSeed'] = process.argv.slice(2);
process.stderr.write(`cloudseed: \`npm run ${command}\` needs ${part}, which is not built yet.\n`);
process.exitCode = 1;
