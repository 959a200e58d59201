import type { FastifyInstance } from 'fastify';
import type { Container } from '../../container.js';
import { registerSignUpRoute } from './register.js';

export function registerAccountRoutes(app: FastifyInstance, c: Container): void {
  registerSignUpRoute(app, c);
}
