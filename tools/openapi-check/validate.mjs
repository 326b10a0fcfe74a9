// Validates an OpenAPI document (a file) against the OpenAPI 3.1 schema and
// resolves every $ref, with swagger-parser.
import SwaggerParser from "@apidevtools/swagger-parser";
const [file] = process.argv.slice(2);
const api = await SwaggerParser.validate(file);
const operations = Object.values(api.paths).flatMap((path) => Object.keys(path));
console.log(`OpenAPI ${api.openapi}: valid, ${Object.keys(api.paths).length} paths, ${operations.length} operations`);
