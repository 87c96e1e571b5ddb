/**
 * The metadata is valid SFDX source: every file parses as metadata XML of its folder's type,
 * the Salesforce CLI's own conversion library (@salesforce/source-deploy-retrieve, what
 * `sf project convert source` and `sf project deploy` run) resolves every file and converts
 * the project to Metadata API format, and the credentials hold together without a secret.
 */
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { XMLParser, XMLValidator } = require('fast-xml-parser');
const { ComponentSet, MetadataConverter } = require('@salesforce/source-deploy-retrieve');
const { PROJECT, classNames } = require('./support/apex');

const SOURCE = path.join(PROJECT, 'force-app', 'main', 'default');
const NAMESPACE = 'http://soap.sforce.com/2006/04/metadata';
const parser = new XMLParser({ ignoreAttributes: false, isArray: (name) => ARRAYS.has(name) });
const ARRAYS = new Set([
    'externalCredentialParameters',
    'namedCredentialParameters',
    'externalCredentialPrincipalAccesses',
    'classAccesses',
    'fieldPermissions',
    'objectPermissions',
    'labels',
    'targets',
    'targetConfig',
    'object',
    'property'
]);

/** Folder => the root element of its files (only the folders this kit ships). */
const ROOTS = {
    classes: 'ApexClass',
    externalCredentials: 'ExternalCredential',
    labels: 'CustomLabels',
    lwc: 'LightningComponentBundle',
    namedCredentials: 'NamedCredential',
    permissionsets: 'PermissionSet',
    objects: null
};

function xmlFiles(dir) {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) {
            return entry.name === '__tests__' ? [] : xmlFiles(full);
        }
        return entry.name.endsWith('-meta.xml') ? [full] : [];
    });
}

const read = (file) => parser.parse(fs.readFileSync(file, 'utf8'));
const files = xmlFiles(SOURCE);
const folderOf = (file) => path.relative(SOURCE, file).split(path.sep)[0];

function namedCredentials() {
    const dir = path.join(SOURCE, 'namedCredentials');
    return fs.readdirSync(dir).map((file) => ({
        name: file.replace('.namedCredential-meta.xml', ''),
        ...read(path.join(dir, file)).NamedCredential
    }));
}

function externalCredentials() {
    const dir = path.join(SOURCE, 'externalCredentials');
    return fs.readdirSync(dir).map((file) => ({
        name: file.replace('.externalCredential-meta.xml', ''),
        ...read(path.join(dir, file)).ExternalCredential
    }));
}

describe('the SFDX source', () => {
    it.each(files.map((file) => [path.relative(SOURCE, file), file]))(
        '%s is well-formed metadata XML',
        (name, file) => {
            const text = fs.readFileSync(file, 'utf8');
            expect(XMLValidator.validate(text)).toBe(true);
            const root = Object.keys(parser.parse(text)).find((key) => key !== '?xml');
            const folder = folderOf(file);
            expect(Object.keys(ROOTS)).toContain(folder);
            if (ROOTS[folder]) {
                expect(root).toBe(ROOTS[folder]);
            }
            expect(parser.parse(text)[root]['@_xmlns']).toBe(NAMESPACE);
        }
    );

    it('converts to Metadata API format with the Salesforce CLI library', async () => {
        const set = ComponentSet.fromSource(path.join(PROJECT, 'force-app'));
        const out = fs.mkdtempSync(path.join(os.tmpdir(), 'isthmus-mdapi-'));
        try {
            const result = await new MetadataConverter().convert(set, 'metadata', {
                type: 'directory',
                outputDirectory: out,
                genUniqueDir: false
            });
            const manifest = parser.parse(
                fs.readFileSync(path.join(result.packagePath, 'package.xml'), 'utf8')
            );
            const types = Object.fromEntries(
                [].concat(manifest.Package.types).map((t) => [t.name, [].concat(t.members)])
            );
            expect(types.ApexClass.sort()).toEqual(classNames());
            expect(types.NamedCredential.sort()).toEqual(['Isthmus', 'Isthmus_OAuth']);
            expect(types.ExternalCredential.sort()).toEqual(['Isthmus_ApiKey', 'Isthmus_OAuth']);
            expect(types.PermissionSet).toContain('Isthmus_User');
            expect(types.LightningComponentBundle).toEqual(
                expect.arrayContaining(['isthmusErrors', 'isthmusOrderStatus', 'isthmusQuotePanel'])
            );
            expect(types.CustomLabel).toEqual(
                expect.arrayContaining([
                    'Isthmus_Default_Entity',
                    'Isthmus_Default_Uom',
                    'Isthmus_Named_Credential'
                ])
            );
            // Jest tests stay out of what is deployed (.forceignore).
            const bundle = path.join(result.packagePath, 'lwc', 'isthmusQuotePanel');
            expect(fs.readdirSync(bundle)).not.toContain('__tests__');
        } finally {
            fs.rmSync(out, { recursive: true, force: true });
        }
    });
});

describe('the credentials', () => {
    const externals = externalCredentials();
    const named = namedCredentials();

    it('cover both ways Isthmus authenticates callers', () => {
        const byName = Object.fromEntries(externals.map((ec) => [ec.name, ec]));
        expect(byName.Isthmus_ApiKey.authenticationProtocol).toBe('Custom');
        expect(byName.Isthmus_OAuth.authenticationProtocol).toBe('Oauth');
        const variant = byName.Isthmus_OAuth.externalCredentialParameters.find(
            (p) => p.parameterType === 'AuthProtocolVariant'
        );
        expect(variant.parameterValue).toBe('ClientCredentialsClientSecret');
    });

    it('send the API key in the X-API-Key header from a principal parameter', () => {
        const apiKey = externals.find((ec) => ec.name === 'Isthmus_ApiKey');
        const header = apiKey.externalCredentialParameters.find(
            (p) => p.parameterType === 'AuthHeader'
        );
        expect(header.parameterName).toBe('X-API-Key');
        expect(header.parameterValue).toBe('{!$Credential.Isthmus_ApiKey.ApiKey}');
    });

    it('ask for the scopes the kit uses', () => {
        const oauth = externals.find((ec) => ec.name === 'Isthmus_OAuth');
        const scope = oauth.externalCredentialParameters.find((p) => p.parameterName === 'Scope');
        expect(scope.parameterValue.split(' ')).toEqual(
            expect.arrayContaining(['quotes:validate', 'orders:submit', 'orders:read'])
        );
    });

    it('hold no secret: only formulas, URLs, scopes and protocol names have values', () => {
        for (const ec of externals) {
            for (const parameter of ec.externalCredentialParameters) {
                const value = parameter.parameterValue;
                if (value === undefined) {
                    continue;
                }
                switch (parameter.parameterType) {
                    case 'AuthHeader':
                        expect(value).toMatch(/^\{!\$Credential\.[A-Za-z_]+\.[A-Za-z_]+\}$/);
                        break;
                    case 'AuthProviderUrl':
                        expect(value).toMatch(/^https:\/\/[^/]+\.example\.com\//);
                        break;
                    case 'AuthParameter':
                        expect(parameter.parameterName).toBe('Scope');
                        break;
                    case 'AuthProtocolVariant':
                        break;
                    default:
                        throw new Error(`${ec.name}: ${parameter.parameterName} has a value`);
                }
            }
        }
        const text = files.map((file) => fs.readFileSync(file, 'utf8')).join('\n');
        expect(text).not.toMatch(/isk_|client_secret|BEGIN (RSA )?PRIVATE KEY/i);
    });

    it('each name an external credential that exists, and a placeholder URL to replace', () => {
        const known = new Set(externals.map((ec) => ec.name));
        expect(named.map((nc) => nc.name).sort()).toEqual(['Isthmus', 'Isthmus_OAuth']);
        for (const nc of named) {
            expect(nc.namedCredentialType).toBe('SecuredEndpoint');
            const auth = nc.namedCredentialParameters.find(
                (p) => p.parameterType === 'Authentication'
            );
            expect(known.has(auth.externalCredential)).toBe(true);
            const url = nc.namedCredentialParameters.find((p) => p.parameterType === 'Url');
            expect(url.parameterValue).toBe('https://isthmus.example.com');
            expect(nc.allowMergeFieldsInHeader).toBe(true);
        }
        const oauth = named.find((nc) => nc.name === 'Isthmus_OAuth');
        expect(oauth.generateAuthorizationHeader).toBe(true);
    });

    it('the Named Credential the kit uses by default is shipped', () => {
        const labels = read(path.join(SOURCE, 'labels', 'CustomLabels.labels-meta.xml'))
            .CustomLabels.labels;
        const label = labels.find((l) => l.fullName === 'Isthmus_Named_Credential');
        expect(named.map((nc) => nc.name)).toContain(label.value);
    });

    it('the permission set grants the principals and the controller', () => {
        const set = read(
            path.join(SOURCE, 'permissionsets', 'Isthmus_User.permissionset-meta.xml')
        ).PermissionSet;
        const principals = set.externalCredentialPrincipalAccesses
            .map((a) => a.externalCredentialPrincipal)
            .sort();
        const expected = externals.flatMap((ec) =>
            ec.externalCredentialParameters
                .filter((p) => p.parameterType === 'NamedPrincipal')
                .map((p) => `${ec.name}-${p.parameterName}`)
        );
        expect(principals).toEqual(expected.sort());
        const classes = set.classAccesses.map((a) => a.apexClass);
        expect(classes).toContain('IsthmusController');
        for (const name of classes) {
            expect(classNames()).toContain(name);
        }
    });

    it('the permission set lets users read every ERP field the order view shows', () => {
        const objects = path.join(SOURCE, 'objects');
        const set = read(
            path.join(SOURCE, 'permissionsets', 'Isthmus_User.permissionset-meta.xml')
        ).PermissionSet;
        const required = (object, field) =>
            read(path.join(objects, object, 'fields', `${field}.field-meta.xml`)).CustomField
                .required === true;
        const granted = new Set(set.fieldPermissions.filter((f) => f.readable).map((f) => f.field));
        for (const field of granted) {
            const [object, name] = field.split('.');
            expect(
                fs.existsSync(path.join(objects, object, 'fields', `${name}.field-meta.xml`))
            ).toBe(true);
            expect(required(object, name)).toBe(false);
        }
        const view = fs.readFileSync(path.join(SOURCE, 'classes', 'IsthmusOrderView.cls'), 'utf8');
        const missing = [];
        for (const object of ['Order', 'ERP_Shipment__c', 'ERP_Invoice__c', 'ERP_Payment__c']) {
            for (const file of fs.readdirSync(path.join(objects, object, 'fields'))) {
                const name = file.replace('.field-meta.xml', '');
                if (new RegExp(`\\b${name}\\b`).test(view) && !required(object, name)) {
                    if (!granted.has(`${object}.${name}`)) {
                        missing.push(`${object}.${name}`);
                    }
                }
            }
        }
        expect(missing).toEqual([]);
        const readable = set.objectPermissions
            .filter((o) => o.allowRead && !o.allowEdit)
            .map((o) => [].concat(o.object)[0]);
        expect(readable.sort()).toEqual(['ERP_Invoice__c', 'ERP_Payment__c', 'ERP_Shipment__c']);
    });
});
