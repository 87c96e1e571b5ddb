/**
 * Reads Apex sources with the Apex parser prettier-plugin-apex ships (Salesforce's own jorje
 * parser, as a native executable, or on the machine's Java when no native build fits the
 * platform) and turns the syntax tree into an outline the kit's tests can reason about:
 * classes, fields with their types and initial values, methods with their signatures.
 */
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const PROJECT = path.resolve(__dirname, '..', '..');
const CLASSES = path.join(PROJECT, 'force-app', 'main', 'default', 'classes');

function serializer() {
    const native = `@prettier-apex/apex-ast-serializer-${process.platform}-${process.arch}`;
    try {
        return {
            command: require.resolve(
                `${native}/apex-ast-serializer-${process.platform}-${process.arch}`
            ),
            shell: false
        };
    } catch (e) {
        const plugin = path.dirname(require.resolve('prettier-plugin-apex/package.json'));
        return {
            command: path.join(
                plugin,
                'vendor',
                'apex-ast-serializer',
                'bin',
                'apex-ast-serializer'
            ),
            shell: false
        };
    }
}

/** The jorje syntax tree of an Apex source, or an Error listing its parse errors. */
function parse(source) {
    const { command, shell } = serializer();
    const run = spawnSync(command, [], {
        input: source,
        shell,
        maxBuffer: 256 * 1024 * 1024,
        env: { ...process.env, DEBUG: '' }
    });
    if (run.error) {
        throw run.error;
    }
    if (run.status !== 0 || !run.stdout.length) {
        throw new Error(`The Apex parser failed: ${run.stderr.toString()}`);
    }
    const output = JSON.parse(run.stdout.toString())[
        'apex.jorje.semantic.compiler.parser.ParserOutput'
    ];
    const errors = output.parseErrors || [];
    if (errors.length) {
        throw new Error(errors.map((error) => error.message).join('\n'));
    }
    return output.unit;
}

const kind = (node) => (node && node['@class'] ? node['@class'].split('.').pop() : undefined);
const opt = (node) =>
    node && Object.prototype.hasOwnProperty.call(node, 'value') ? node.value : node;

function typeName(ref) {
    if (!ref || !ref.names) {
        return undefined;
    }
    const base = ref.names.map((name) => name.value).join('.');
    const args = ref.typeArguments || [];
    return args.length ? `${base}<${args.map(typeName).join(', ')}>` : base;
}

function modifiersOf(list) {
    const modifiers = [];
    const annotations = [];
    for (const modifier of list || []) {
        const name = kind(modifier);
        if (name === 'Modifier$Annotation') {
            annotations.push(modifier.name.value);
        } else if (name) {
            modifiers.push(
                name
                    .replace('Modifier$', '')
                    .replace(/Modifier$/, '')
                    .toLowerCase()
            );
        }
    }
    return { modifiers, annotations };
}

/** The string an expression of literals, constants and concatenations stands for. */
function evaluate(expr, scope = {}, calls = {}) {
    const node = opt(expr);
    switch (kind(node)) {
        case 'Expr$LiteralExpr':
            return node.type && node.type.$ === 'STRING'
                ? node.literal.$
                : String(node.literal ? node.literal.$ : '');
        case 'Expr$BinaryExpr':
            if (node.op.$ !== 'ADDITION') {
                return undefined;
            }
            return `${evaluate(node.left, scope, calls)}${evaluate(node.right, scope, calls)}`;
        case 'Expr$VariableExpr': {
            const name = node.names.map((n) => n.value).join('.');
            return Object.prototype.hasOwnProperty.call(scope, name)
                ? evaluate(scope[name], scope, calls)
                : `{${name}}`;
        }
        case 'Expr$MethodCallExpr': {
            const name = node.names.map((n) => n.value).join('.');
            return Object.prototype.hasOwnProperty.call(calls, name)
                ? calls[name](node)
                : `{${name}()}`;
        }
        default:
            return undefined;
    }
}

/** Every node below (and including) a node, depth first. */
function* walk(node) {
    if (Array.isArray(node)) {
        for (const item of node) {
            yield* walk(item);
        }
    } else if (node && typeof node === 'object') {
        yield node;
        for (const [key, value] of Object.entries(node)) {
            if (key !== 'loc' && key !== 'location') {
                yield* walk(value);
            }
        }
    }
}

function classOutline(decl) {
    const { modifiers, annotations } = modifiersOf(decl.modifiers);
    const outline = {
        name: decl.name.value,
        modifiers,
        annotations,
        superClass: typeName(opt(decl.superClass)),
        fields: [],
        methods: [],
        classes: []
    };
    for (const member of decl.members || []) {
        switch (kind(member)) {
            case 'BlockMember$FieldMember': {
                const decls = member.variableDecls;
                const info = modifiersOf(decls.modifiers);
                for (const variable of decls.decls) {
                    outline.fields.push({
                        name: variable.name.value,
                        type: typeName(decls.type),
                        ...info,
                        initializer: opt(variable.assignment)
                    });
                }
                break;
            }
            case 'BlockMember$PropertyMember': {
                const property = member.propertyDecl;
                outline.fields.push({
                    name: property.name.value,
                    type: typeName(property.type),
                    ...modifiersOf(property.modifiers),
                    property: true
                });
                break;
            }
            case 'BlockMember$MethodMember': {
                const method = member.methodDecl;
                outline.methods.push({
                    name: method.name.value,
                    returnType: typeName(opt(method.type)),
                    ...modifiersOf(method.modifiers),
                    parameters: (method.parameters || []).map((parameter) => ({
                        name: parameter.name.value,
                        type: typeName(parameter.typeRef)
                    })),
                    body: opt(method.stmnt)
                });
                break;
            }
            case 'BlockMember$InnerClassMember':
                outline.classes.push(classOutline(member.body));
                break;
            default:
                break;
        }
    }
    return outline;
}

/** The outline of one class file. */
function outlineOf(source) {
    const unit = parse(source);
    if (kind(unit) !== 'CompilationUnit$ClassDeclUnit') {
        throw new Error(`Not a class: ${kind(unit)}`);
    }
    return classOutline(unit.body);
}

const cache = new Map();

/** The outline of force-app/main/default/classes/<name>.cls (parsed once per run). */
function apexClass(name) {
    if (!cache.has(name)) {
        cache.set(name, outlineOf(fs.readFileSync(path.join(CLASSES, `${name}.cls`), 'utf8')));
    }
    return cache.get(name);
}

/** Names of the Apex classes in the project. */
function classNames() {
    return fs
        .readdirSync(CLASSES)
        .filter((file) => file.endsWith('.cls'))
        .map((file) => file.slice(0, -'.cls'.length))
        .sort();
}

/** Constant values of a class outline: static final String fields with literal values. */
function constants(outline) {
    const scope = {};
    for (const field of outline.fields) {
        if (
            field.initializer &&
            field.modifiers.includes('static') &&
            field.modifiers.includes('final')
        ) {
            scope[field.name] = field.initializer;
        }
    }
    return scope;
}

module.exports = {
    CLASSES,
    PROJECT,
    apexClass,
    classNames,
    constants,
    evaluate,
    kind,
    opt,
    outlineOf,
    parse,
    typeName,
    walk
};
