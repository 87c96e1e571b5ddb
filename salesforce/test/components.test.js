/**
 * The Lightning components and the Apex they call: every `@salesforce/apex/Class.method`
 * a component imports is a public static @AuraEnabled method of that class, called with
 * exactly its parameter names; every `c/` module and custom label a component imports exists;
 * every bundle has its metadata.
 */
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const babel = require('@babel/parser');
const { XMLParser } = require('fast-xml-parser');
const { PROJECT, apexClass, classNames } = require('./support/apex');

const LWC = path.join(PROJECT, 'force-app', 'main', 'default', 'lwc');
const LABELS = path.join(
    PROJECT,
    'force-app',
    'main',
    'default',
    'labels',
    'CustomLabels.labels-meta.xml'
);
const bundles = fs
    .readdirSync(LWC, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
const xml = new XMLParser({
    isArray: (name) => ['labels', 'target', 'object', 'targetConfig'].includes(name)
});

function walk(node, visit) {
    if (Array.isArray(node)) {
        node.forEach((item) => walk(item, visit));
    } else if (node && typeof node.type === 'string') {
        visit(node);
        for (const [key, value] of Object.entries(node)) {
            if (key !== 'loc' && value && typeof value === 'object') {
                walk(value, visit);
            }
        }
    }
}

/** What a component's JavaScript imports from Apex, c/ and labels, and how it calls Apex. */
function usesOf(bundle) {
    const file = path.join(LWC, bundle, `${bundle}.js`);
    const ast = babel.parse(fs.readFileSync(file, 'utf8'), {
        sourceType: 'module',
        plugins: ['decorators-legacy', 'classProperties']
    });
    const apex = {};
    const modules = [];
    const labels = [];
    for (const node of ast.program.body) {
        if (node.type !== 'ImportDeclaration') {
            continue;
        }
        const source = node.source.value;
        const local = node.specifiers.find((s) => s.type === 'ImportDefaultSpecifier');
        if (source.startsWith('@salesforce/apex/')) {
            const [className, method] = source.slice('@salesforce/apex/'.length).split('.');
            apex[local.local.name] = { className, method, calls: [] };
        } else if (source.startsWith('c/')) {
            modules.push(source.slice(2));
        } else if (source.startsWith('@salesforce/label/c.')) {
            labels.push(source.slice('@salesforce/label/c.'.length));
        }
    }
    walk(ast.program, (node) => {
        if (
            node.type === 'CallExpression' &&
            node.callee.type === 'Identifier' &&
            apex[node.callee.name]
        ) {
            const [argument] = node.arguments;
            apex[node.callee.name].calls.push(
                argument && argument.type === 'ObjectExpression'
                    ? argument.properties.map((p) => p.key.name || p.key.value).sort()
                    : null
            );
        }
    });
    return { apex: Object.values(apex), modules, labels };
}

describe('the Lightning components', () => {
    it('include the quote panel and the order status', () => {
        expect(bundles).toEqual(
            expect.arrayContaining(['isthmusQuotePanel', 'isthmusOrderStatus', 'isthmusErrors'])
        );
    });

    it.each(bundles)('%s has its JavaScript, metadata and a Jest test', (bundle) => {
        const files = fs.readdirSync(path.join(LWC, bundle));
        expect(files).toEqual(
            expect.arrayContaining([`${bundle}.js`, `${bundle}.js-meta.xml`, '__tests__'])
        );
        const meta = xml.parse(
            fs.readFileSync(path.join(LWC, bundle, `${bundle}.js-meta.xml`), 'utf8')
        );
        const component = meta.LightningComponentBundle;
        if (component.isExposed) {
            expect(component.targets.target.length).toBeGreaterThan(0);
            expect(files).toContain(`${bundle}.html`);
        }
    });

    it.each(bundles)('%s calls Apex methods that exist with those parameters', (bundle) => {
        for (const use of usesOf(bundle).apex) {
            expect(classNames()).toContain(use.className);
            const method = apexClass(use.className).methods.find((m) => m.name === use.method);
            expect(method).toBeDefined();
            expect(method.annotations).toContain('AuraEnabled');
            expect(method.modifiers).toEqual(expect.arrayContaining(['static']));
            expect(method.modifiers.some((m) => m === 'public' || m === 'global')).toBe(true);
            const parameters = method.parameters.map((p) => p.name).sort();
            expect(use.calls.length).toBeGreaterThan(0);
            for (const keys of use.calls) {
                expect(keys).toEqual(parameters);
            }
        }
    });

    it.each(bundles)('%s imports only modules and labels that exist', (bundle) => {
        const { modules, labels } = usesOf(bundle);
        for (const name of modules) {
            expect(bundles).toContain(name);
        }
        const shipped = xml
            .parse(fs.readFileSync(LABELS, 'utf8'))
            .CustomLabels.labels.map((l) => l.fullName);
        for (const name of labels) {
            expect(shipped).toContain(name);
        }
    });
});
