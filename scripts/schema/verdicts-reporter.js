'use strict';
// A mocha reporter for reference.sh: one JSON object per test case, in the order mocha ran them,
// written to the file named by INTAKE_VERDICTS (mocha 6's own json reporter writes to stdout, where
// jsonschema-tools' pino logger writes too). Each line:
//   {"status":"passed|failed|pending","suite":"structure|robustness|compatibility",
//    "case":"<jsonschema-tools test-case name; structure-... for its unnamed structure tests>",
//    "schema":"<title>[/<version file>]","title":"<mocha full title>","path":[...titlePath],
//    "error":"<assertion message, failed only>"}
// "case" is the name the repositories' skipSchemaTestCases use (schema-is-valid, ...,
// schema-version-compatibility); jsonschema-tools' structure tests have no such name, and get one
// here (structureCases).
const fs = require('fs');
const Base = require('mocha/lib/reporters/base');

// jsonschema-tools 1.3.0 lib/tests/robustness.js: description -> test-case name.
const robustnessCases = {
    'must be a valid JSONSchema': 'schema-is-valid',
    'must be a secure JSONSchema': 'schema-is-secure',
    'properties must be snake_case': 'schema-snake-case-properties',
    'has deterministic types (no unions, missing array value types, etc.)': 'schema-deterministic-types',
    'all required properties must exist': 'schema-required-properties-exist',
    'examples must have $schema == schema\'s $id': 'schema-examples-$schema-matches-schema-$id',
    'examples must validate against schema': 'schema-examples-are-valid',
    'should have minimum and maximum values inside the configured bounds for all numeric fields':
        'schema-enforced-numeric-bounds',
};

// jsonschema-tools 1.3.0 lib/tests/structure.js: its tests have no names (skip lists cannot name
// them), so each gets one here from its title, the same for every schema: intake schema test
// names its structure checks so. Titles carry versions, paths and content types; the schema field
// says which schema, the title keeps the rest.
const structureCases = [
    [/^all materialized files should be in the same directory$/, 'structure-same-directory'],
    [/^all materialized files should be in directory that matches schema title$/, 'structure-title-matches-directory'],
    [/^must contain \S+ schema file$/, 'structure-current-exists'],
    [/^must not contain extensionless current symlink$/, 'structure-no-extensionless-current'],
    [/^must have a \S+ file$/, 'structure-current-found'],
    [/^Must be able to find the latest schema version file$/, 'structure-latest-found'],
    // (jsonschema-tools' title has a no-break space before "the")
    [/^must contain materialized current schema file as\sthe greatest /, 'structure-current-materialized'],
    [/^current version \S+ must be equal to materialized latest version /, 'structure-current-equals-latest'],
    [/^Should have latest\.\S+ symlink pointing to latest version file /, 'structure-latest-symlink'],
    [/^Should have extensionless latest symlink pointing to latest version file /, 'structure-latest-extensionless-symlink'],
    [/^must have \S+ version in /, 'structure-content-type-exists'],
    [/^must have extensionless symlink version pointing to /, 'structure-version-symlink'],
    [/^\S+ version must have correct /, 'structure-title-correct'],
    [/^\S+ version must be in directory that matches title$/, 'structure-version-in-title-directory'],
    [/^\$id must match directory$/, 'structure-id-matches-directory'],
    [/^all materialized content types must be equal$/, 'structure-content-types-equal'],
];

function structureCase(title) {
    const m = structureCases.find(([re]) => re.test(title));
    return m ? m[1] : title;
}

function describeTest(test) {
    const p = test.titlePath();
    const top = p[0] || '';
    const leaf = p[p.length - 1];
    if (top.startsWith('Schema Robustness in Repository')) {
        // [top, title, "1.0.0.yaml" | "current.yaml", description]
        return {
            suite: 'robustness',
            case: robustnessCases[leaf] || leaf,
            schema: p.length >= 4 ? `${p[1]}/${p[2]}` : p[1],
        };
    }
    if (top.startsWith('Schema Compatibility in Repository')) {
        // [top, title, "Major Version N", "<new> must be compatible with <old>"]
        const m = /^(\S+) must be compatible with /.exec(leaf);
        return {
            suite: 'compatibility',
            case: 'schema-version-compatibility',
            schema: m ? `${p[1]}/${m[1]}` : p[1],
        };
    }
    if (top.startsWith('Schema Repository Structure in')) {
        // [top, "Schema with title T", ("<version>",)? it-title]
        const title = (p[1] || '').replace(/^Schema with title /, '');
        return {
            suite: 'structure',
            case: structureCase(leaf),
            schema: p.length >= 4 ? `${title}/${p[2]}` : title,
        };
    }
    return { suite: 'other', case: leaf, schema: '' };
}

function VerdictsReporter(runner) {
    Base.call(this, runner);
    const out = process.env.INTAKE_VERDICTS;
    if (!out) {
        throw new Error('verdicts-reporter: INTAKE_VERDICTS must name the output file');
    }
    const fd = fs.openSync(out, 'w');
    const write = (test, status, err) => {
        const v = Object.assign({ status }, describeTest(test), {
            title: test.fullTitle(),
            path: test.titlePath(),
        });
        if (err) {
            v.error = String(err.message || err).split('\n')[0];
        }
        fs.writeSync(fd, JSON.stringify(v) + '\n');
    };
    runner.on('pass', test => write(test, 'passed'));
    runner.on('fail', (test, err) => {
        // A failing hook is reported as a test too; keep it, it fails the run.
        write(test, 'failed', err);
    });
    runner.on('pending', test => write(test, 'pending'));
    runner.once('end', () => {
        fs.closeSync(fd);
    });
}

module.exports = VerdictsReporter;
