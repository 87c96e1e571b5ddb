const { jestConfig } = require('@salesforce/sfdx-lwc-jest/config');

// Two projects: the Lightning components (jsdom, the LWC compiler) and the kit's checks of
// Apex sources, metadata and the contract with the gateway's OpenAPI document (plain node).
module.exports = {
    projects: [
        {
            ...jestConfig,
            displayName: 'lwc',
            rootDir: __dirname,
            testMatch: ['<rootDir>/force-app/**/__tests__/**/*.test.js']
        },
        {
            displayName: 'kit',
            rootDir: __dirname,
            testEnvironment: 'node',
            testMatch: ['<rootDir>/test/**/*.test.js']
        }
    ]
};
