/** Page arithmetic shared by every paginated list (GraphQL and REST): limit 20 by default, 100 at most. */
export const DEFAULT_LIMIT = 20;
export const MAX_LIMIT = 100;

export interface PageRequest {
  page?: number | null;
  limit?: number | null;
  sort?: string | null;
  order?: 'asc' | 'desc' | null;
}

export interface PageInfo {
  page: number;
  limit: number;
  total: number;
  pages: number;
  hasNext: boolean;
  hasPrev: boolean;
}

export interface Page<T> {
  items: T[];
  pageInfo: PageInfo;
}

export function resolvePage<S extends string>(req: PageRequest | undefined | null, sorts: readonly S[], defaultSort: S, defaultOrder: 'asc' | 'desc' = 'desc') {
  const page = Math.max(1, Math.floor(req?.page ?? 1));
  const limit = Math.min(MAX_LIMIT, Math.max(1, Math.floor(req?.limit ?? DEFAULT_LIMIT)));
  const sort = (sorts as readonly string[]).includes(req?.sort ?? '') ? (req!.sort as S) : defaultSort;
  const order = req?.order ?? defaultOrder;
  return { page, limit, sort, order, skip: (page - 1) * limit, take: limit } as const;
}

export function pageInfo(total: number, page: number, limit: number): PageInfo {
  const pages = Math.ceil(total / limit);
  return { page, limit, total, pages, hasNext: page < pages, hasPrev: page > 1 };
}
