import { z } from 'zod';

export const customFieldDefinitionSchema = z
  .object({ id: z.union([z.number(), z.string()]).optional(), name: z.string(), data_type: z.string(), description: z.string().nullish() })
  .loose();
export type CustomFieldDefinition = z.infer<typeof customFieldDefinitionSchema>;

export const paginationSchema = z
  .object({ current_Page: z.number(), total_Pages: z.number(), total_Count: z.number().optional(), page_Size: z.number().optional() })
  .loose();
export type Pagination = z.infer<typeof paginationSchema>;

export const webhookSchema = z.object({ id: z.union([z.number(), z.string()]), scope: z.string(), destination_url: z.string().nullish() }).loose();
export type WebhookSubscription = z.infer<typeof webhookSchema>;
