/**
 * The contract between the Apex kit and the gateway: every IsthmusApi class mirrors one schema
 * of openapi/openapi.json field by field (names after IsthmusWire's renaming, and types), every
 * client method calls the operation it names with the schemas it declares, and every answer
 * the Apex tests mock validates against the schema the gateway documents for it. When the
 * gateway's payloads change, this fails until the kit follows.
 */
'use strict';

const { apexClass, constants, evaluate, kind, opt, walk } = require('./support/apex');
const openapi = require('./support/openapi');

/** IsthmusApi inner class => the OpenAPI schema it mirrors. */
const SHAPES = {
    QuoteRequest: 'LightningQuoteRequest',
    QuoteLineInput: 'LightningQuoteLineIn',
    QuoteResult: 'LightningQuoteResult',
    QuoteLine: 'LightningQuoteLine',
    Message: 'LightningMessage',
    Credit: 'LightningCredit',
    PriceRequest: 'LightningPriceRequest',
    LineInput: 'LightningLineIn',
    PriceResult: 'LightningPriceResult',
    PriceLine: 'LightningPriceLine',
    AvailabilityRequest: 'LightningAvailabilityRequest',
    AvailabilityLineInput: 'LightningAvailabilityLineIn',
    AvailabilityResult: 'LightningAvailabilityResult',
    AvailabilityLine: 'LightningAvailabilityLine',
    Warehouse: 'LightningWarehouse',
    CreditResult: 'LightningCreditResult',
    OrderRequest: 'OrderSubmission',
    OrderLineInput: 'OrderLineIn',
    Party: 'Party',
    Address: 'Address',
    OrderStatus: 'OrderView',
    Reason: 'Reason',
    LineConfirmation: 'LineConfirmation',
    TimelineEntry: 'TimelineEntry',
    Failure: 'FailureView',
    OrderList: 'OrderList',
    Problem: 'Problem',
    FieldProblem: 'FieldProblem'
};

/** IsthmusClient method => the operation it calls and the answer status it reads. */
const CALLS = {
    validateQuote: { method: 'POST', path: '/lightning/v1/quotes/validate', status: 200 },
    checkPrices: { method: 'POST', path: '/lightning/v1/prices/check', status: 200 },
    getPrice: {
        method: 'GET',
        path: '/lightning/v1/accounts/{accountId}/prices/{sku}',
        status: 200
    },
    checkAvailability: { method: 'POST', path: '/lightning/v1/availability/check', status: 200 },
    getAvailability: {
        method: 'GET',
        path: '/lightning/v1/products/{sku}/availability',
        status: 200
    },
    checkCredit: { method: 'GET', path: '/lightning/v1/accounts/{accountId}/credit', status: 200 },
    submitOrder: {
        method: 'POST',
        path: '/lightning/v1/orders',
        status: 202,
        headers: ['Idempotency-Key', 'Prefer'],
        deadline: false
    },
    getOrder: {
        method: 'GET',
        path: '/lightning/v1/orders/{order_id}',
        status: 200,
        deadline: false
    },
    findOrders: { method: 'GET', path: '/lightning/v1/orders', status: 200, deadline: false }
};

/** IsthmusFixtures constant => the schema the gateway answers it with. */
const FIXTURES = {
    QUOTE_READY: 'LightningQuoteResult',
    QUOTE_BLOCKED_DEGRADED: 'LightningQuoteResult',
    PRICE_RESULT: 'LightningPriceResult',
    PRICE_LINE: 'LightningPriceLine',
    AVAILABILITY_RESULT: 'LightningAvailabilityResult',
    AVAILABILITY_LINE: 'LightningAvailabilityLine',
    CREDIT_RESULT: 'LightningCreditResult',
    PROBLEM_VALIDATION: 'Problem',
    PROBLEM_BACKEND: 'Problem',
    PROBLEM_RATE_LIMITED: 'Problem',
    PROBLEM_UNAUTHORIZED: 'Problem',
    ORDER_BOOKED: 'OrderView',
    ORDER_RETRYING: 'OrderView',
    ORDER_LIST: 'OrderList',
    ORDER_LIST_EMPTY: 'OrderList',
    PROBLEM_IDEMPOTENCY: 'Problem',
    PROBLEM_ORDER_EXISTS: 'Problem'
};

const api = apexClass('IsthmusApi');
const client = apexClass('IsthmusClient');
const classes = Object.fromEntries(api.classes.map((inner) => [inner.name, inner]));
const apexFor = Object.fromEntries(Object.entries(SHAPES).map(([apex, schema]) => [schema, apex]));

/** JSON name => Apex field name, as IsthmusWire.APEX_NAMES renames them. */
const APEX_NAMES = (() => {
    const field = apexClass('IsthmusWire').fields.find((f) => f.name === 'APEX_NAMES');
    const names = {};
    for (const node of walk(field.initializer)) {
        if (kind(node) === 'MapLiteralKeyValue') {
            names[evaluate(node.key)] = evaluate(node.value);
        }
    }
    return names;
})();

const apexName = (wire) => APEX_NAMES[wire] || wire;
const bare = (type) => (type || '').replace(/IsthmusApi\./g, '');

describe('the Apex shapes and the OpenAPI document', () => {
    it('mirror every IsthmusApi class, and only those', () => {
        expect(Object.keys(classes).sort()).toEqual(Object.keys(SHAPES).sort());
    });

    it('rename exactly the JSON names Apex reserves', () => {
        expect(APEX_NAMES).toMatchObject({ currency: 'currencyCode', date: 'dateValue' });
    });

    it.each(Object.entries(SHAPES))('IsthmusApi.%s has the fields of %s', (apex, schemaName) => {
        const schema = openapi.schema(schemaName);
        const expected = Object.keys(schema.properties || {})
            .map(apexName)
            .sort();
        const actual = classes[apex].fields.map((field) => field.name).sort();
        expect(actual).toEqual(expected);
    });

    it.each(Object.entries(SHAPES))(
        'IsthmusApi.%s types each field as %s does',
        (apex, schemaName) => {
            const schema = openapi.schema(schemaName);
            const mismatches = [];
            for (const [wire, property] of Object.entries(schema.properties || {})) {
                const field = classes[apex].fields.find((f) => f.name === apexName(wire));
                const allowed = openapi.apexTypes(property, (name) => apexFor[name]);
                if (field && !allowed.includes(bare(field.type))) {
                    mismatches.push(`${wire}: ${field.type}, expected ${allowed.join(' or ')}`);
                }
            }
            expect(mismatches).toEqual([]);
        }
    );

    it('read every answer field a component shows: response fields are @AuraEnabled', () => {
        const answers = new Set(
            Object.values(CALLS)
                .map((call) =>
                    openapi.answerSchema(openapi.operation(call.path, call.method), call.status)
                )
                .filter(Boolean)
        );
        // Everything reachable from an answer schema.
        const reachable = new Set();
        const visit = (name) => {
            if (reachable.has(name)) {
                return;
            }
            reachable.add(name);
            for (const property of Object.values(openapi.schema(name).properties || {})) {
                for (const node of walk(property)) {
                    if (node.$ref) {
                        visit(openapi.refName(node));
                    }
                }
            }
        };
        answers.forEach(visit);
        const missing = [];
        for (const schemaName of reachable) {
            for (const field of classes[apexFor[schemaName]].fields) {
                if (!field.annotations.includes('AuraEnabled')) {
                    missing.push(`${apexFor[schemaName]}.${field.name}`);
                }
            }
        }
        expect(missing).toEqual([]);
    });
});

describe('the Apex client and the operations it calls', () => {
    const scope = constants(client);

    function callOf(methodName) {
        const method = client.methods.find((m) => m.name === methodName);
        expect(method).toBeDefined();
        const locals = {};
        const literals = [];
        let send;
        let query = [];
        for (const node of walk(method.body)) {
            if (kind(node) === 'Expr$LiteralExpr' && node.type.$ === 'STRING') {
                literals.push(node.literal.$);
            }
            if (kind(node) === 'VariableDecl' && node.assignment) {
                locals[node.name.value] = opt(node.assignment);
            }
            if (
                kind(node) === 'Expr$MethodCallExpr' &&
                node.names.map((n) => n.value).join('.') === 'send'
            ) {
                send = node;
            }
        }
        const calls = {
            segment: () => '{}',
            query: (call) => {
                query = [];
                for (const node of walk(call.inputParameters)) {
                    if (kind(node) === 'MapLiteralKeyValue') {
                        query.push(evaluate(node.key));
                    }
                }
                return '';
            }
        };
        const all = { ...scope, ...locals };
        const args = send ? send.inputParameters : [];
        return {
            method,
            verb: args.length ? evaluate(args[0], all, calls) : undefined,
            path: args.length ? evaluate(args[1], all, calls) : undefined,
            query,
            literals
        };
    }

    it('has a contract entry for every public call', () => {
        const calling = client.methods
            .filter(
                (m) => m.modifiers.includes('public') && /^IsthmusApi\./.test(m.returnType || '')
            )
            .map((m) => m.name)
            .sort();
        expect(calling).toEqual(Object.keys(CALLS).sort());
    });

    it.each(Object.entries(CALLS))('%s calls %p', (methodName, expected) => {
        const call = callOf(methodName);
        expect(call.verb).toBe(expected.method);
        expect(call.path).toBe(expected.path.replace(/\{[^}]+\}/g, '{}'));

        const op = openapi.operation(expected.path, expected.method);
        expect(op).toBeDefined();
        if (expected.deadline !== false) {
            expect(op.parameters.map((p) => p.name)).toContain('X-Deadline-Ms');
        }

        const answer = openapi.answerSchema(op, expected.status);
        expect(bare(call.method.returnType)).toBe(apexFor[answer]);

        for (const header of expected.headers || []) {
            expect(op.parameters.filter((p) => p.in === 'header').map((p) => p.name)).toContain(
                header
            );
            expect(call.literals).toContain(header);
        }

        const body = openapi.bodySchema(op);
        if (body) {
            expect(bare(call.method.parameters[0].type)).toBe(apexFor[body]);
        } else {
            const documented = op.parameters.filter((p) => p.in === 'query');
            expect(call.query.sort()).toEqual(documented.map((p) => p.name).sort());
        }
    });
});

describe('the answers the Apex tests mock', () => {
    const fixtures = apexClass('IsthmusFixtures');
    const scope = constants(fixtures);

    it('are all checked here', () => {
        const json = Object.keys(scope).filter((name) =>
            evaluate(scope[name], scope).startsWith('{')
        );
        expect(json.sort()).toEqual(Object.keys(FIXTURES).sort());
    });

    it.each(Object.entries(FIXTURES))('%s is a valid %s', (name, schemaName) => {
        const value = JSON.parse(evaluate(scope[name], scope));
        expect(openapi.validate(value, { $ref: `#/components/schemas/${schemaName}` })).toEqual([]);
    });

    it('catch a fixture that breaks its schema', () => {
        const broken = {
            status: 'MAYBE',
            label: 1,
            variant: 'success',
            currency: 'USD',
            total: '1'
        };
        expect(
            openapi.validate(broken, { $ref: '#/components/schemas/LightningQuoteResult' })
        ).toEqual([
            '/credit: required',
            '/status: "MAYBE" is not one of READY, REVIEW, BLOCKED',
            '/label: 1 is not string'
        ]);
    });
});
