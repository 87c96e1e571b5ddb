/**
 * The gateway's OpenAPI document (openapi/openapi.json, generated from the gateway's own
 * models) and what the kit's tests ask of it: schemas, operations, the Apex types a schema
 * allows, and a validator for the JSON the Apex test fixtures answer with.
 */
'use strict';

const fs = require('node:fs');
const path = require('node:path');

// The committed document; ISTHMUS_OPENAPI names another (e.g. a running gateway's, saved).
const DOCUMENT =
    process.env.ISTHMUS_OPENAPI ||
    path.resolve(__dirname, '..', '..', '..', 'openapi', 'openapi.json');
const spec = JSON.parse(fs.readFileSync(DOCUMENT, 'utf8'));

function refName(schema) {
    return schema && schema.$ref ? schema.$ref.split('/').pop() : undefined;
}

function schema(name) {
    const found = spec.components.schemas[name];
    if (!found) {
        throw new Error(`No schema ${name} in ${DOCUMENT}`);
    }
    return found;
}

/** The schema without its "or null" alternative (oneOf: [X, {type: null}]). */
function nonNull(property) {
    if (property.oneOf) {
        const options = property.oneOf.filter((option) => option.type !== 'null');
        if (options.length === 1) {
            return { ...property, ...options[0], oneOf: undefined };
        }
    }
    if (Array.isArray(property.type)) {
        const types = property.type.filter((type) => type !== 'null');
        if (types.length === 1) {
            return { ...property, type: types[0] };
        }
    }
    return property;
}

function nullable(property) {
    return (
        (property.oneOf || []).some((option) => option.type === 'null') ||
        (Array.isArray(property.type) && property.type.includes('null'))
    );
}

/**
 * The Apex types a property may be declared as. classFor maps a schema name to the Apex class
 * that mirrors it (undefined when none does).
 */
function apexTypes(property, classFor) {
    const p = nonNull(property);
    const ref = refName(p);
    if (ref) {
        const apex = classFor(ref);
        return apex ? [apex] : [`<no Apex class for ${ref}>`];
    }
    switch (p.type) {
        case 'string':
            if (p.format === 'date') {
                return ['Date'];
            }
            return p.format === 'date-time' ? ['String', 'Datetime'] : ['String'];
        case 'integer':
            return ['Integer', 'Long'];
        case 'number':
            return ['Decimal', 'Double'];
        case 'boolean':
            return ['Boolean'];
        case 'array':
            return apexTypes(p.items || {}, classFor).map((item) => `List<${item}>`);
        case 'object':
            return ['Map<String, Object>'];
        default:
            return [`<unknown type ${JSON.stringify(p)}>`];
    }
}

/** The operation at a path and method, or undefined. */
function operation(pathName, method) {
    const item = spec.paths[pathName];
    return item ? item[method.toLowerCase()] : undefined;
}

function bodySchema(op) {
    const content = op.requestBody && op.requestBody.content;
    return content ? refName(content['application/json'].schema) : undefined;
}

function answerSchema(op, status) {
    const answer = op.responses[String(status)];
    const content = answer && answer.content;
    return content && content['application/json']
        ? refName(content['application/json'].schema)
        : undefined;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Errors of a JSON value against a schema of the document (the parts of JSON Schema the
 * gateway's document uses). Unknown properties in answers are allowed: the gateway may add
 * fields, and the kit ignores them.
 */
function validate(value, property, at = '') {
    if (property.$ref) {
        return validate(value, schema(refName(property)), at);
    }
    if (property.oneOf) {
        const results = property.oneOf.map((option) => validate(value, option, at));
        return results.some((errors) => errors.length === 0)
            ? []
            : [`${at || '/'}: matches none of ${JSON.stringify(property.oneOf)}`];
    }
    const errors = [];
    const type = property.type;
    const is = {
        null: value === null,
        string: typeof value === 'string',
        integer: Number.isInteger(value),
        number: typeof value === 'number',
        boolean: typeof value === 'boolean',
        array: Array.isArray(value),
        object: value !== null && typeof value === 'object' && !Array.isArray(value)
    };
    if (type && !is[type]) {
        return [`${at || '/'}: ${JSON.stringify(value)} is not ${type}`];
    }
    if (property.enum && !property.enum.includes(value)) {
        errors.push(`${at}: ${JSON.stringify(value)} is not one of ${property.enum.join(', ')}`);
    }
    if (type === 'string') {
        if (property.format === 'date' && !DATE.test(value)) {
            errors.push(`${at}: ${value} is not a date`);
        }
        if (property.format === 'date-time' && !DATE_TIME.test(value)) {
            errors.push(`${at}: ${value} is not a date-time`);
        }
        if (property.pattern && !new RegExp(property.pattern).test(value)) {
            errors.push(`${at}: ${value} does not match ${property.pattern}`);
        }
    }
    if (type === 'array') {
        value.forEach((item, index) =>
            errors.push(...validate(item, property.items || {}, `${at}/${index}`))
        );
    }
    if (type === 'object' && property.properties) {
        for (const name of property.required || []) {
            if (!(name in value)) {
                errors.push(`${at}/${name}: required`);
            }
        }
        for (const [name, item] of Object.entries(value)) {
            if (property.properties[name]) {
                errors.push(...validate(item, property.properties[name], `${at}/${name}`));
            } else if (property.additionalProperties === false) {
                errors.push(`${at}/${name}: not allowed`);
            }
        }
    }
    return errors;
}

module.exports = {
    DOCUMENT,
    answerSchema,
    apexTypes,
    bodySchema,
    nullable,
    operation,
    refName,
    schema,
    spec,
    validate
};
